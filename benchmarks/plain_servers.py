"""The anchors a user would write instead of the prediction service, for ``serving.py``.

``python benchmarks/plain_servers.py joblib MODEL.joblib --port P``: a plain FastAPI
app around ``joblib.load`` of the fitted scikit-learn pipeline; ``POST /invocations``
takes MLflow's ``dataframe_split`` and answers ``{"predictions": [...]}`` from
``pipeline.predict_proba`` on the DataFrame.

``python benchmarks/plain_servers.py bare MODEL.joblib --port P``: a plain FastAPI app
around the bare classifier (the file holds it, or for a baseline its compiled rate
reader); ``POST /invocations`` takes ``{"rows": [[encoded numbers], ...]}``, rows
already encoded, and answers the classifier's P(Won). It computes no feature: the
HTTP stack's own ceiling on this machine.

Both are one uvicorn worker with ``async`` routes (no thread-pool hop), the fastest
form of a plain server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def joblib_app(path: str) -> FastAPI:
    """A FastAPI app that scores MLflow's ``dataframe_split`` bodies with the joblib pipeline at
    ``path``: the plain server the service is compared with."""
    pipeline = joblib.load(path)
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invocations")
    async def invocations(body: dict[str, Any]) -> dict[str, list[float]]:
        split = body["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        for column in ("engage_date", "as_of_date"):
            frame[column] = pd.to_datetime(frame[column])
        return {"predictions": pipeline.predict_proba(frame)[:, 1].tolist()}

    return app


def bare_app(path: str) -> FastAPI:
    """A FastAPI app that scores encoded rows (``{"rows": [[...]]}``) with the bare classifier at
    ``path``: the fastest possible server."""
    classifier = joblib.load(path)
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invocations")
    async def invocations(body: dict[str, Any]) -> dict[str, list[float]]:
        rows = np.asarray(body["rows"], dtype=np.float64)
        if hasattr(classifier, "predict_proba"):
            return {"predictions": classifier.predict_proba(rows)[:, 1].tolist()}
        return {"predictions": classifier.predict(rows).tolist()}  # a baseline's rate reader

    return app


def main() -> None:
    """Serve the ``joblib`` or ``bare`` app on 127.0.0.1 ``--port`` until stopped."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("joblib", "bare"))
    parser.add_argument("model")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = joblib_app(args.model) if args.kind == "joblib" else bare_app(args.model)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
