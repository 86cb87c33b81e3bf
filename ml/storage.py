"""Object storage through URLs: ``file://`` and ``s3://`` share one code path (fsspec).

S3 settings come from the environment, as the AWS SDK and MLflow read them:
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_DEFAULT_REGION`` (or the
SDK's own chain) and the endpoint from ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``
or ``MLFLOW_S3_ENDPOINT_URL`` (SeaweedFS locally; unset on AWS).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import fsspec
import pandas as pd

_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL")


class StorageError(OSError):
    """A storage operation failed; transient failures are worth a retry."""


# A caller that retries on its own (the prediction log's upload loop) wants each call to
# fail within seconds: one attempt, short timeouts. The SDK's default (5 attempts with
# backoff, 15 s read timeout each) can hold a call for over a minute against a store that
# accepts connections but does not answer yet, as a restarting one does.
FAIL_FAST_TIMEOUTS_S = {"connect_timeout": 3, "read_timeout": 20}


def storage_options(url: str, *, fail_fast: bool = False) -> dict[str, Any]:
    """fsspec options for ``url``: the S3 endpoint from the environment, if any, and with
    ``fail_fast`` one attempt per call and short timeouts (:data:`FAIL_FAST_TIMEOUTS_S`)."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    endpoint = next((os.environ[v] for v in _ENDPOINT_VARIABLES if os.environ.get(v)), None)
    options: dict[str, Any] = {}
    config: dict[str, Any] = {}
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
        config["s3"] = {"addressing_style": "path"}
    if fail_fast:
        # built anew each call: the SDK adds keys to the dicts it is given
        config.update(FAIL_FAST_TIMEOUTS_S, retries={"total_max_attempts": 1})
    if config:
        options["config_kwargs"] = config
    return options


def join(base: str, *parts: str) -> str:
    """``base`` and ``parts`` joined with single slashes."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def _fs(url: str, fail_fast: bool = False) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = fsspec.core.url_to_fs(url, **storage_options(url, fail_fast=fail_fast))
    if fail_fast and hasattr(fs, "retries"):
        # s3fs retries timeouts and dropped connections itself, 5 times by default; the
        # fail-fast options make this a cached instance of its own, so this stays local
        fs.retries = 1
    return fs, path


def exists(url: str) -> bool:
    """Whether an object (or folder) exists at ``url``."""
    fs, path = _fs(url)
    return bool(fs.exists(path))


def read_bytes(url: str) -> bytes:
    """The content of ``url``; raises :class:`FileNotFoundError` when absent."""
    fs, path = _fs(url)
    return fs.cat_file(path)


def write_bytes(url: str, data: bytes, *, fail_fast: bool = False) -> None:
    """Write ``data`` to ``url``, creating parent folders of local paths; ``fail_fast``:
    see :func:`storage_options`. Raises OSError (or the SDK's error) on failure."""
    fs, path = _fs(url, fail_fast)
    parent = fs._parent(path)
    if parent and not url.startswith(("s3://", "s3a://")):
        fs.makedirs(parent, exist_ok=True)
    fs.pipe_file(path, data)


def read_json(url: str) -> Any:
    """The JSON document at ``url``."""
    return json.loads(read_bytes(url))


def write_json(url: str, data: Any) -> None:
    """``data`` as indented, key-sorted JSON at ``url``."""
    write_bytes(url, json.dumps(data, indent=2, sort_keys=True, default=str).encode())


def write_parquet(url: str, frame: pd.DataFrame) -> None:
    """``frame`` as a parquet object at ``url`` (index dropped)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    write_bytes(url, buffer.getvalue())


def read_parquet(url: str) -> pd.DataFrame:
    """The parquet object at ``url`` as a DataFrame."""
    return pd.read_parquet(io.BytesIO(read_bytes(url)))


def list_names(url: str) -> list[str]:
    """The names directly under folder ``url`` (empty when it does not exist)."""
    fs, path = _fs(url)
    try:
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False))
    except FileNotFoundError:
        return []
