"""``python -m tests.workloads.serving.serve_file MODEL --port P``: the prediction
service as ``python -m workloads.serving`` runs it (settings from ``SERVING_*``,
uvicorn, the same stop budget), serving a fitted pipeline from a joblib file
instead of the MLflow registry, so a test can kill and restart a real process
without an MLflow server."""

from __future__ import annotations

import sys

import joblib

from workloads.serving.__main__ import parse_args, serve
from workloads.serving.logs import configure
from workloads.serving.settings import ServingSettings


class FileSource:
    """Version 1 is the pipeline in ``path``; the alias never moves."""

    name, alias = "crm-win-probability", "champion"

    def __init__(self, path: str) -> None:
        self.path = path

    def resolve(self) -> str:
        return "1"

    def load(self, version: str):
        return joblib.load(self.path)

    def tags(self, version: str) -> dict[str, str]:
        return {}


if __name__ == "__main__":
    # the class by its module's name, so that worker processes can unpickle it
    from tests.workloads.serving.serve_file import FileSource as Source

    model, rest = sys.argv[1], sys.argv[2:]
    args = parse_args(rest)
    configure(args.log_level)
    serve(ServingSettings.from_env(), Source(model), args)
