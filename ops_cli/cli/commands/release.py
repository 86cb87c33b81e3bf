"""``opsctl release create|show|list|verify``, ``opsctl promote`` and ``opsctl history``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, LockTimeoutOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE, ConfigError

release_app = typer.Typer(help="Release bundles: create, show, list, verify.")
ReleaseArgument = Annotated[
    str, typer.Argument(help="Release id, e.g. 20261127T101500Z-4f1c2a9b0d3e.")
]


def _manifest_json(view: Any) -> dict[str, Any]:
    return {
        **view.manifest.model_dump(mode="json"),
        "intact": view.intact,
        "integrity": view.integrity_detail,
        "verified": view.verified,
        "verifications": [v.model_dump(mode="json") for v in view.verifications],
    }


@release_app.command("create")
def create(
    env: EnvOption = "staging",
    image_digest: Annotated[
        list[str] | None,
        typer.Option(
            "--image-digest",
            envvar="RELEASE_IMAGE_DIGESTS",
            help="repository[:tag]@sha256:<digest> of an image (repeat; or RELEASE_IMAGE_DIGESTS, "
            "space-separated).",
        ),
    ] = None,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            file_okay=False,
            exists=True,
            help="The checkout whose git commit and terraform/, platform/ the release "
            "records (default: the folder holding environments/).",
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Seal what ENV runs into a bundle in ENV's releases bucket.

    The bundle holds the image digests, the champion model version, the config
    hash, the git commit and the infrastructure module versions.
    """
    from ops_cli.config.loader import find_environments_dir
    from ops_cli.release.create import create_release
    from ops_cli.release.images import parse_images

    images = parse_images(image_digest or [])
    environment = open_environment(env)
    project = project_dir or find_environments_dir().parent
    manifest = create_release(environment, images, project=project, environ=os.environ)
    if output is OutputFormat.json:
        render.print_json(manifest.model_dump(mode="json"))
        return
    render.stdout.print(f"release {manifest.release_id} created in '{env}'")
    render.stdout.print(
        f"model {manifest.model.name} version {manifest.model.version}, "
        f"images: {', '.join(i.pinned for i in manifest.images) or '-'}"
    )


@release_app.command("show")
def show(
    release: ReleaseArgument, env: EnvOption = "staging", output: OutputOption = OutputFormat.table
) -> None:
    """Show a bundle, whether it matches its content hash, and its verifications."""
    from ops_cli.release.queries import show_release

    view = show_release(open_environment(env), release)
    if output is OutputFormat.json:
        render.print_json(_manifest_json(view))
        return
    m = view.manifest
    rows = {
        "release": m.release_id,
        "created": f"{m.created_at.isoformat()} by {m.created_by} in {m.source_environment}",
        "git commit": m.git_commit,
        "model": f"{m.model.name} version {m.model.version} (@{m.model.alias}), "
        f"artifacts sha256 {m.model.artifact_sha256[:12]}",
        "images": "\n".join(i.pinned for i in m.images) or "-",
        "config sha256": m.config_sha256[:12],
        "infrastructure": "\n".join(f"{k} {v[:12]}" for k, v in m.infrastructure.items()) or "-",
        "content sha256": m.content_sha256,
        "integrity": view.integrity_detail,
        "verified": "yes" if view.verified else "no",
    }
    table = Table(show_header=False, title=f"Release {m.release_id}", title_justify="left")
    for key, value in rows.items():
        table.add_row(key, value)
    render.stdout.print(table)


@release_app.command("list")
def list_(env: EnvOption = "staging", output: OutputOption = OutputFormat.table) -> None:
    """List the releases in ENV's releases bucket, newest first."""
    from ops_cli.release.queries import list_releases

    views = list_releases(open_environment(env))
    if output is OutputFormat.json:
        render.print_json({"environment": env, "releases": [_manifest_json(v) for v in views]})
        return
    table = Table(title=f"Releases ({env})", title_justify="left")
    table.add_column("release", no_wrap=True)
    for column in ("created", "model", "commit", "verified", "intact"):
        table.add_column(column)
    for v in views:
        m = v.manifest
        table.add_row(
            m.release_id,
            m.created_at.isoformat(timespec="seconds"),
            f"{m.model.name} v{m.model.version}",
            m.git_commit[:10],
            "yes" if v.verified else "no",
            "yes" if v.intact else "[red]NO[/]",
        )
    render.stdout.print(table)


@release_app.command("verify")
def verify(
    release: ReleaseArgument, env: EnvOption = "staging", output: OutputOption = OutputFormat.table
) -> None:
    """Run the smoke checks of RELEASE in ENV and record the result.

    Checks: every service healthy, the champion alias on the release's model
    version. Exits 1 when one fails.
    """
    from ops_cli.release.verify import verify_release

    record = verify_release(open_environment(env), release, environ=os.environ)
    if output is OutputFormat.json:
        render.print_json(record.model_dump(mode="json"))
    else:
        table = Table(title=f"Smoke checks of {release} in '{env}'", title_justify="left")
        for column in ("check", "result", "detail"):
            table.add_column(column)
        for c in record.checks:
            table.add_row(c.name, "[green]pass[/]" if c.passed else "[red]FAIL[/]", c.detail)
        render.stdout.print(table)
        render.stdout.print("verified: passed" if record.passed else "[red]verification failed[/]")
    if not record.passed:
        raise typer.Exit(EXIT_FAILURE)


def promote(
    release: Annotated[
        str | None, typer.Argument(help="Release id (default: the newest verified in --from).")
    ] = None,
    source: Annotated[
        str, typer.Option("--from", help="Environment that verified the release.")
    ] = "staging",
    target: Annotated[str, typer.Option("--to", help="Environment to promote to.")] = "prod",
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = 0,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Deploy exactly the bundle --from verified to --to, or roll back.

    Same images (cluster targets), same model content (copied into --to's
    registry when it is another MLflow server), champion alias moved, smoke
    checks run in --to; any failure rolls --to back. Every attempt is recorded
    in --to's audit log.
    """
    from ops_cli.release.promotion import PromotionFailedError
    from ops_cli.release.promotion import promote as run_promotion

    if source == target:
        raise ConfigError(f"--from and --to are both '{source}'; promote between two environments")
    source_env, target_env = open_environment(source), open_environment(target)
    if not yes:
        what = release or f"the newest release verified in '{source}'"
        typer.confirm(f"Promote {what} from '{source}' to '{target}'?", abort=True, err=True)
    try:
        with render.progress(output is OutputFormat.table) as view:
            report = run_promotion(
                source_env,
                target_env,
                release,
                environ=os.environ,
                progress=view,
                lock_timeout_s=lock_timeout,
            )
    except PromotionFailedError as exc:
        if output is OutputFormat.json:
            render.print_json(exc.report)
        raise
    if output is OutputFormat.json:
        render.print_json(report)
        return
    render.stdout.print(
        f"[green]release {report.release_id} promoted to '{target}'[/]: model version "
        f"{report.model_version} (was {report.previous_model_version or 'none'})"
        + (f", deployed {', '.join(report.deployed)}" if report.deployed else "")
    )


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--at {value!r}: not an ISO 8601 time, e.g. 2026-11-27T10:15:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def history(
    env: EnvOption = "prod",
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601 time (UTC unless it says), default now.")
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """What ran in ENV at a time, and the audit log up to then."""
    from ops_cli.release.queries import history as read_history

    when = _parse_time(at)
    found = read_history(open_environment(env), when)
    if output is OutputFormat.json:
        render.print_json(
            {
                "environment": env,
                "at": found.at.isoformat(),
                "current": found.current.model_dump(mode="json") if found.current else None,
                "records": [r.model_dump(mode="json") for r in found.records],
            }
        )
        return
    current = found.current
    render.stdout.print(
        f"in '{env}' at {found.at.isoformat(timespec='seconds')}: "
        + (
            f"release {current.release_id}, model version {current.model_version}"
            if current
            else "no release promoted yet"
        )
    )
    table = Table(title="Audit log", title_justify="left")
    for column in ("time", "who", "release", "from", "result", "model", "detail"):
        table.add_column(column, no_wrap=column == "release")
    for r in found.records:
        table.add_row(
            r.at.isoformat(timespec="seconds"),
            r.actor,
            r.release_id,
            r.from_environment,
            r.result,
            r.model_version or "-",
            r.detail,
        )
    render.stdout.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
    app.command()(promote)
    app.command()(history)
