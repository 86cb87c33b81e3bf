"""``opsctl release create|show|list|verify``, ``opsctl promote`` and ``opsctl history``."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, LockTimeoutOption, OutputFormat, OutputOption, YesOption
from ops_cli.cli.tables import Column, fields, styled, table, utc_time
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


ImageDigestOption = Annotated[
    list[str] | None,
    typer.Option(
        "--image-digest",
        envvar="RELEASE_IMAGE_DIGESTS",
        help="repository[:tag]@sha256:<digest> of an image (repeat; or RELEASE_IMAGE_DIGESTS, "
        "space-separated).",
    ),
]
ProjectDirOption = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        file_okay=False,
        exists=True,
        help="The checkout whose git commit and terraform/, platform/ the release "
        "records (default: the folder holding environments/).",
    ),
]


@release_app.command("create")
def create(
    env: EnvOption = "staging",
    image_digest: ImageDigestOption = None,
    project_dir: ProjectDirOption = None,
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
    render.stdout.print(fields(_manifest_fields(view), title=f"Release {view.manifest.release_id}"))


def _manifest_fields(view: Any) -> list[tuple[str, Any]]:
    """``release show``: every field whole; an image's digest and a module's hash on
    the line below its name, so each fits 80 columns."""
    m = view.manifest
    images = "\n".join(f"{i.repository}:{i.tag or '-'}\n  @{i.digest}" for i in m.images)
    infrastructure = "\n".join(f"{k}\n  {v}" for k, v in m.infrastructure.items())
    return [
        ("release", m.release_id),
        ("created", f"{utc_time(m.created_at)} by {m.created_by} in {m.source_environment}"),
        ("git commit", m.git_commit),
        ("model", f"{m.model.name} version {m.model.version} (@{m.model.alias})"),
        ("model sha256", m.model.artifact_sha256),
        ("images", images or None),
        ("config sha256", m.config_sha256),
        ("infrastructure", infrastructure or None),
        ("content sha256", m.content_sha256),
        ("integrity", view.integrity_detail),
        ("verified", "yes" if view.verified else "no"),
    ]


RELEASE_COLUMNS = (
    Column("release"),
    Column("created", header="created (UTC)", wide=True),
    Column("by", wide=True),
    Column("source", wide=True),
    Column("model_name", header="model name", wide=True),
    Column("model", justify="right"),
    Column("commit"),
    Column("verified"),
    Column("intact"),
)
"""``release list``: the commit is git's short form, whole with ``-o wide``."""


def release_rows(views: list[Any], *, wide: bool) -> list[dict[str, Any]]:
    """Release views as :data:`RELEASE_COLUMNS` cells."""
    return [
        {
            "release": v.manifest.release_id,
            "created": utc_time(v.manifest.created_at),
            "by": v.manifest.created_by,
            "source": v.manifest.source_environment,
            "model_name": v.manifest.model.name,
            "model": v.manifest.model.version,
            "commit": v.manifest.git_commit if wide else v.manifest.git_commit[:10],
            "verified": "yes" if v.verified else "no",
            "intact": "yes" if v.intact else styled("NO", "red"),
        }
        for v in views
    ]


@release_app.command("list")
def list_(env: EnvOption = "staging", output: OutputOption = OutputFormat.table) -> None:
    """List the releases in ENV's releases bucket, newest first."""
    from ops_cli.release.queries import list_releases

    views = list_releases(open_environment(env))
    if output is OutputFormat.json:
        render.print_json({"environment": env, "releases": [_manifest_json(v) for v in views]})
        return
    rows = release_rows(views, wide=output.is_wide)
    title = f"Releases ({env})"
    render.stdout.print(table(RELEASE_COLUMNS, rows, title=title, wide=output.is_wide))


CHECK_COLUMNS = (Column("check"), Column("result"), Column("detail", text=True, optional=True))


def check_rows(checks: list[Any]) -> list[dict[str, Any]]:
    """Smoke checks as :data:`CHECK_COLUMNS` cells."""
    return [
        {"check": c.name, "detail": c.detail or None,
         "result": styled("pass", "green") if c.passed else styled("FAIL", "red")}
        for c in checks
    ]  # fmt: skip


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
        rows = check_rows(record.checks)
        title = f"Smoke checks of {release} in '{env}'"
        render.stdout.print(table(CHECK_COLUMNS, rows, title=title, wide=output.is_wide))
        render.stdout.print("verified: passed" if record.passed else "[red]verification failed[/]")
    if not record.passed:
        raise typer.Exit(EXIT_FAILURE)


ReleaseToPromote = Annotated[
    str | None, typer.Argument(help="Release id (default: the newest verified in --from).")
]
FromOption = Annotated[str, typer.Option("--from", help="Environment that verified the release.")]
ToOption = Annotated[str, typer.Option("--to", help="Environment to promote to.")]


def promote(
    release: ReleaseToPromote = None,
    source: FromOption = "staging",
    target: ToOption = "prod",
    yes: YesOption = False,
    lock_timeout: LockTimeoutOption = 0,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Deploy exactly the bundle --from verified to --to, or roll back.

    Shows what will change (model version, champion, images) and asks, unless --yes.
    Same images (cluster targets), same model content (copied into --to's
    registry when it is another MLflow server), champion alias moved, smoke
    checks run in --to; any failure rolls --to back. Every attempt is recorded
    in --to's audit log.
    """
    from ops_cli.release.promotion import PromotionFailedError
    from ops_cli.release.promotion import promote as run_promotion

    try:  # the core refuses --from and --to naming one platform
        with render.progress(output.for_people) as view:
            report = run_promotion(
                open_environment(source),
                open_environment(target),
                release,
                environ=os.environ,
                progress=view,
                lock_timeout_s=lock_timeout,
                confirm=None if yes else _confirm_promotion(output),
            )
    except PromotionFailedError as exc:
        if output is OutputFormat.json:
            render.print_json(exc.report)
        raise
    _print_promotion(report, output)


def _confirm_promotion(output: OutputFormat) -> Callable[[Any], bool]:
    def confirm(plan: Any) -> bool:
        console = render.before_question(output.for_people)
        console.print(fields(_promotion_fields(plan), title="Promotion plan"))
        question = f"Promote {plan.release_id} from '{plan.from_environment}' to "
        return render.ask(question + f"'{plan.to_environment}'?")

    return confirm


def _promotion_fields(plan: Any) -> list[tuple[str, Any]]:
    """What a promotion changes in the target, one line each."""
    now = f"version {plan.current_champion}" if plan.current_champion else "none"
    copy = "copied into the target's registry" if plan.copies_model else "already there"
    return [
        ("release", plan.release_id),
        ("from -> to", f"{plan.from_environment} -> {plan.to_environment}"),
        ("model", f"{plan.model_name} version {plan.model_version} ({copy})"),
        (f"@{plan.champion_alias}", f"{now} -> the release's model"),
        ("image", plan.image),
        ("redeployed", ", ".join(plan.workloads) or None),
    ]


def _print_promotion(report: Any, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        render.print_json(report)
        return
    render.stdout.print(
        f"[green]release {report.release_id} promoted to '{report.to_environment}'[/]: model "
        f"version {report.model_version} (was {report.previous_model_version or 'none'})"
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


AUDIT_COLUMNS = (
    Column("time", header="time (UTC)"),
    Column("who", wide=True),
    Column("release"),
    Column("from", wide=True),
    Column("result"),
    Column("model", justify="right"),
    Column("previous", header="previous model", wide=True, justify="right"),
    Column("detail", text=True, wide=True, optional=True),
)
"""``history``: who, where from, the model replaced and the detail with ``-o wide``."""
_RESULT_STYLE = {"succeeded": "green", "refused": "yellow", "failed-rolled-back": "red"}


def audit_rows(records: list[Any]) -> list[dict[str, Any]]:
    """Audit records as :data:`AUDIT_COLUMNS` cells."""
    return [
        {
            "time": utc_time(r.at),
            "who": r.actor,
            "release": r.release_id,
            "from": r.from_environment,
            "result": styled(r.result, _RESULT_STYLE.get(r.result, "")),
            "model": r.model_version,
            "previous": r.previous_model_version,
            "detail": r.detail or None,
        }
        for r in records
    ]


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
        f"in '{env}' at {utc_time(found.at)}: "
        + (
            f"release {current.release_id}, model version {current.model_version}"
            if current
            else "no release promoted yet"
        )
    )
    rows = audit_rows(found.records)
    render.stdout.print(table(AUDIT_COLUMNS, rows, title="Audit log", wide=output.is_wide))


def register(app: typer.Typer) -> None:
    """Add the ``release`` group, ``promote`` and ``history`` to ``app``."""
    app.add_typer(release_app, name="release")
    app.command()(promote)
    app.command()(history)
