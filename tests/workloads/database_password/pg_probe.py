"""Stands for MLflow and Prefect server: opens new connections the way they do
(SQLAlchemy with psycopg2, and with asyncpg; the URLs the Nomad jobs render), with
no password in the URL.

``python pg_probe.py PORT OUT``: appends one JSON line per round to OUT, with
this process's pid and whether each driver connected, until SIGTERM, then
appends ``{"terminated": true}`` and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

PORT, OUT = sys.argv[1], sys.argv[2]
URL = f"platform@127.0.0.1:{PORT}/mlflow"
stopping = False


def on_term(_signum: int, _frame: object) -> None:
    global stopping
    stopping = True


def write(record: dict) -> None:
    with open(OUT, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def with_psycopg2() -> str:
    engine = create_engine(f"postgresql+psycopg2://{URL}")
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT current_user")).scalar())
    finally:
        engine.dispose()


async def with_asyncpg() -> str:
    engine = create_async_engine(f"postgresql+asyncpg://{URL}")
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text("SELECT current_user"))).scalar())
    finally:
        await engine.dispose()


def attempt(call) -> str:
    try:
        return call()
    except Exception as exc:
        return f"error: {type(exc).__name__}"


signal.signal(signal.SIGTERM, on_term)

while not stopping:
    write(
        {
            "pid": os.getpid(),
            "psycopg2": attempt(with_psycopg2),
            "asyncpg": attempt(lambda: asyncio.run(with_asyncpg())),
        }
    )
    for _ in range(5):
        if stopping:
            break
        time.sleep(0.1)
write({"terminated": True})
