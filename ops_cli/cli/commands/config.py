"""``opsctl config show | list``: the resolved configuration, secrets masked."""

from __future__ import annotations

import typer
import yaml

from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption
from ops_cli.config.display import masked_config
from ops_cli.config.loader import available_environments, find_environments_dir
from ops_cli.environment import open_environment

config_app = typer.Typer(help="Inspect environment configuration.", no_args_is_help=True)


@config_app.command("show")
def show(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Print the merged configuration of an environment, with secrets masked."""
    environment = open_environment(env)
    data = masked_config(environment.config, lambda name: environment.secrets.get(name) is not None)
    data["state_dir"] = str(environment.paths.root)
    if output is OutputFormat.json:
        render.print_json(data)
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@config_app.command("list")
def list_environments(output: OutputOption = OutputFormat.table) -> None:
    """List the environments that exist."""
    folder = find_environments_dir()
    names = available_environments(folder)
    if output is OutputFormat.json:
        render.print_json({"environments_dir": str(folder), "environments": names})
    else:
        typer.echo("\n".join(names))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
