"""Hashes that must not change between machines: canonical JSON, file trees, configs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Files that belong to a Terraform working directory, not to its source.
_TREE_IGNORED_PARTS = {".terraform", "__pycache__", ".pytest_cache"}
_TREE_IGNORED_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan", ".pyc", ".lock.info")


def canonical_json(data: Any) -> bytes:
    """``data`` as JSON with sorted keys, no spaces and ASCII only: the same bytes
    for the same value on every machine and Python version."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_json(data: Any) -> str:
    """The hex SHA-256 of :func:`canonical_json` of ``data``."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def _tree_files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _TREE_IGNORED_PARTS & set(path.relative_to(root).parts):
            continue
        if path.name.endswith(_TREE_IGNORED_SUFFIXES):
            continue
        yield path


def tree_sha256(root: Path) -> str:
    """The hex SHA-256 of every file under ``root``: relative POSIX path and content,
    in path order. Independent of timestamps, permissions and the checkout's location;
    working-directory files (``.terraform/``, state, plans, caches) are left out."""
    digest = hashlib.sha256()
    for path in _tree_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
