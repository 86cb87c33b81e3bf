"""``python -m workloads.serving --host H --port P``: the service under uvicorn.

``SERVING_WORKERS`` worker processes (default: the cores the process may run
on). Each worker loads the model, follows the alias on its own, and writes its
own segments of the prediction log's spool (``workloads.serving.spool``: one
writer per process). With one worker the app runs in this process; with more,
uvicorn's supervisor starts them and restarts one that dies, and each builds
its app with :func:`worker_app` from the model source this process pickled into
its environment. With more than one, the workers write their metrics to
``SERVING_METRICS_DIR`` (emptied here before they start) so that ``/metrics`` of
any worker counts the requests of all. OpenMP is held to one thread per process (unless
``OMP_NUM_THREADS`` says otherwise): threads of a model's predict would compete
with the event loops for the same cores.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import ctypes.util
import logging
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from workloads.serving.metrics import prepare_multiprocess
from workloads.serving.settings import ServingSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from workloads.serving.model import ModelSource

SOURCE_VARIABLE = "_SERVING_WORKER_SOURCE"
"""Set by :func:`serve` for its worker processes: the pickled model source (outside the
``SERVING_`` prefix, whose unknown names the settings model refuses)."""
LOG_LEVEL_VARIABLE = "_SERVING_WORKER_LOG_LEVEL"
PR_SET_PDEATHSIG = 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: ``--host``, ``--port``, ``--log-level``."""
    parser = argparse.ArgumentParser(prog="python -m workloads.serving")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def serve(settings: ServingSettings, source: ModelSource, args: argparse.Namespace) -> None:
    """Run the service for ``source`` under uvicorn until SIGTERM or SIGINT, in
    ``settings.worker_count`` processes (``source`` must pickle when more than one)."""
    import uvicorn

    from workloads.serving.app import create_app

    workers = settings.worker_count
    common = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "log_config": None,  # uvicorn's records go through the service's one-line handler
        "access_log": False,
        # requests in flight get this much of the stop; the log's last upload and
        # a margin fit in the rest of SERVING_STOP_TIMEOUT_S (see settings)
        "timeout_graceful_shutdown": max(1, round(settings.graceful_s)),
    }
    if workers == 1:
        uvicorn.run(create_app(settings, source), **common)
        return
    os.environ[SOURCE_VARIABLE] = base64.b64encode(pickle.dumps(source)).decode()
    os.environ[LOG_LEVEL_VARIABLE] = args.log_level
    with _metrics_folder(settings) as folder:
        prepare_multiprocess(folder)
        uvicorn.run(
            "workloads.serving.__main__:worker_app", factory=True, workers=workers, **common
        )


@contextlib.contextmanager
def _metrics_folder(settings: ServingSettings) -> Iterator[Path]:
    """``settings.metrics_dir``, or a temporary folder removed when the service stops."""
    if settings.metrics_dir:
        yield Path(settings.metrics_dir)
        return
    with tempfile.TemporaryDirectory(prefix="serving-metrics-") as folder:
        yield Path(folder) / "workers"


def _stop_with_parent() -> None:
    """Ask Linux for SIGTERM when the supervising process dies (``kill -9`` included),
    so that no worker outlives it holding the port; elsewhere, do nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls it in each): settings from
    ``SERVING_*``, the model source :func:`serve` handed down. A worker stops
    gracefully (SIGTERM) when the supervising process dies."""
    from workloads.serving.app import create_app
    from workloads.serving.logs import configure

    _stop_with_parent()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    configure(os.environ.get(LOG_LEVEL_VARIABLE, "info"))
    source = pickle.loads(base64.b64decode(os.environ[SOURCE_VARIABLE]))
    return create_app(ServingSettings.from_env(), source)


def main(argv: list[str] | None = None) -> None:
    """Start the prediction service: settings from the environment, the model from the registry,
    uvicorn until SIGTERM or SIGINT. Exits with status 2 and a one-line log when the settings
    (``CRM_*`` variables) are wrong."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from workloads.serving.logs import configure

    configure(args.log_level)
    from workloads.serving.model import RegistrySource

    try:
        settings = ServingSettings.from_env()
    except ValueError as exc:
        logging.getLogger("workloads.serving").error("not starting: %s", exc)
        raise SystemExit(2) from None
    serve(settings, RegistrySource(settings.model_name, settings.model_alias), args)


if __name__ == "__main__":
    main()
