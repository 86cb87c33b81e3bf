"""The first model of a local platform: ``opsctl up`` trains one when none is champion.

Without a champion the prediction service has nothing to serve and the app nothing
to show, so a fresh local ``up`` runs the pipeline once on generated data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ops_cli import pipeline
from ops_cli.environment import Environment
from ops_cli.errors import OpsError


@dataclass(frozen=True)
class BootstrapResult:
    """The bootstrap run (its Prefect name) and the champion version after it (None
    when the model did not pass the promotion gate)."""

    run_name: str
    champion_version: str | None


def bootstrap_model(env: Environment, say: Callable[[str], None]) -> BootstrapResult | None:
    """Run the pipeline on generated data when ``env`` is a local environment with the
    pipeline's services and no champion; None (nothing run) otherwise.

    ``say`` receives a line when the run starts and one per change of its state
    (``"  <run name>: <STATE>"``). Waits for the run's end. Raises
    :class:`OpsError` naming the run when it does not complete, and as
    :func:`ops_cli.pipeline.run` when the platform cannot be reached.
    """
    if not pipeline.bootstrap_needed(env):
        return None
    say("No champion model yet: running the pipeline on generated data...")
    result = pipeline.run(
        env,
        source="synthetic",
        rows=None,
        month=None,
        wait=True,
        on_progress=lambda p: say(f"  {p.name}: {p.state}"),
        # no champion: a version trained on this data before (its alias since removed)
        # would be reused with its aliases as they are, and still none would serve
        force=True,
    )
    if result.state != "COMPLETED":
        raise OpsError(
            f"the bootstrap pipeline run {result.name} ended {result.state}: {result.message}"
        )
    return BootstrapResult(result.name, pipeline.champion_version(env))
