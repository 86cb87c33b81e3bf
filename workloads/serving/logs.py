"""The service's log: one line per event, each with the id of the request it
belongs to (``-`` outside a request, e.g. the model refresher).

:class:`RequestIdMiddleware` gives every HTTP request an id (32 hex digits) in a
context variable; the prediction routes return the same id in ``X-Request-ID``
and the prediction log records it, so a log line, a response and a logged
prediction can be matched. :func:`configure` installs the handler that stamps
the id on every record (uvicorn's own included) and folds a traceback into the
line of its event, so a log collector never splits one event into many.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send
from typing_extensions import override

REQUEST_ID: ContextVar[str | None] = ContextVar("serving_request_id", default=None)
FORMAT = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"


class _RequestIds:
    """Request ids: 16 random hex digits drawn once per process, then a 16-digit
    counter. Unique across processes (a fork draws again) without a system call
    per request, which ``uuid4`` makes (about a tenth of a request's own work)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix, self.counter = os.urandom(8).hex(), itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_IDS = _RequestIds()


def new_request_id() -> str:
    """A new request id: 32 hex digits, never repeated by any process of the service."""
    return _IDS.next()


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` (``-`` outside a request); never drops a record."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class OneLineFormatter(logging.Formatter):
    r"""The standard format on a single line: line breaks in the message and in a
    traceback are written as ``\\n``."""

    @override
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


def configure(level: str | int) -> None:
    """Send every logger's records to stderr, one line each, with the request id.

    uvicorn's and MLflow's loggers hand their records to this handler too (run
    uvicorn with ``log_config=None``, or it installs handlers of its own again;
    MLflow installs its own handler when imported, so it is imported first), and so
    do Python's warnings, which would otherwise print their source line below.
    """
    import mlflow  # noqa: F401  (installs its logger's handler, replaced below)

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(OneLineFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "mlflow"):
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True
    logging.captureWarnings(True)


class RequestIdMiddleware:
    """Pure ASGI middleware: a new request id for every HTTP request.

    The variable is left set when the request ends: uvicorn logs an unhandled
    error after the app has returned, in the same task, and every request runs
    in a task of its own, so the id never leaks into another request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Give each HTTP request a new id (``REQUEST_ID``) before handing it on."""
        if scope["type"] == "http":
            REQUEST_ID.set(new_request_id())
        await self.app(scope, receive, send)
