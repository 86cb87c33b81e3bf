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


def storage_options(url: str) -> dict[str, Any]:
    """fsspec options for ``url``: the S3 endpoint from the environment, if any."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    endpoint = next((os.environ[v] for v in _ENDPOINT_VARIABLES if os.environ.get(v)), None)
    options: dict[str, Any] = {}
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
        options["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    return options


def join(base: str, *parts: str) -> str:
    """``base`` and ``parts`` joined with single slashes."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def _fs(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = fsspec.core.url_to_fs(url, **storage_options(url))
    return fs, path


def exists(url: str) -> bool:
    """Whether an object (or folder) exists at ``url``."""
    fs, path = _fs(url)
    return bool(fs.exists(path))


def read_bytes(url: str) -> bytes:
    """The content of ``url``; raises :class:`FileNotFoundError` when absent."""
    fs, path = _fs(url)
    return fs.cat_file(path)


def write_bytes(url: str, data: bytes) -> None:
    """Write ``data`` to ``url``, creating parent folders of local paths."""
    fs, path = _fs(url)
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
