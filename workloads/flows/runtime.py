"""Shared flow plumbing: retries on transient storage errors, run names by month."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from ml.runs import resolve_month
from ml.storage import StorageError

RETRY_DELAYS = [2, 10, 30]


def _transient(exc: BaseException) -> bool:
    """Network and storage hiccups are worth a retry; bad data or config is not."""
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    if isinstance(exc, StorageError | ConnectionError | TimeoutError | OSError):
        return True
    module = type(exc).__module__
    return module.startswith(("botocore", "aiobotocore", "aiohttp", "urllib3"))


def retry_on_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only transient storage errors."""
    try:
        state.result()
    except Exception as exc:
        return _transient(exc)
    return False


def storage_task(fn):
    """A Prefect task retried (with :data:`RETRY_DELAYS`) on transient storage errors only."""
    return task(
        retries=len(RETRY_DELAYS),
        retry_delay_seconds=RETRY_DELAYS,
        retry_condition_fn=retry_on_transient,
    )(fn)


@storage_task
def resolve(url: str, version: str | None, month: str | None) -> tuple[str, str]:
    """The raw data version and month a flow works on (the latest when not given)."""
    return resolve_month(url, version, month)


def month_run_name(prefix: str):
    """A ``flow_run_name`` callable: ``<prefix>-<month>`` (``latest`` until resolved)."""

    def name() -> str:
        month = flow_run.parameters.get("month") if flow_run.parameters else None
        return f"{prefix}-{month or 'latest'}"

    return name


def rename_run(name: str) -> None:
    """Give the current flow run the name ``name`` (once its month is known)."""
    run_id = flow_run.id
    if not run_id:
        return
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run_id, name=name)
    except Exception as exc:  # a name is cosmetic: never fail a run for it
        get_run_logger().warning("could not rename the run to %s: %s", name, exc)
