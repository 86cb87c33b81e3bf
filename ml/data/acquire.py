"""Land raw files immutably in object storage, under a version named by their content.

Layout under the data URL::

    raw/<version>/<file>.csv     the files exactly as the source delivered them
    raw/<version>/manifest.json  sha256 and size per file, the source; written last
    raw/latest.json              {"version": ...}: the most recent acquisition

``version`` is the first 16 hex digits of the sha256 over the sorted
``name:sha256`` lines, so identical data always lands at the same key and a
second acquisition of it writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml import storage
from ml.data.sources import Source


@dataclass(frozen=True)
class Acquisition:
    """The outcome of one acquisition."""

    version: str
    url: str
    manifest: dict[str, Any]
    created: bool

    @property
    def message(self) -> str:
        """One line for people: where the version landed, or that it was already stored."""
        if self.created:
            return f"landed raw data version {self.version} at {self.url}"
        return f"raw data version {self.version} is already stored at {self.url}; nothing written"


def content_version(files: dict[str, bytes]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The content version of ``files`` and their per-file hashes and sizes."""
    entries = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        for name, data in sorted(files.items())
    }
    lines = "\n".join(f"{name}:{e['sha256']}" for name, e in entries.items())
    return hashlib.sha256(lines.encode()).hexdigest()[:16], entries


def raw_url(data_url: str, version: str) -> str:
    """Where raw data version ``version`` lives."""
    return storage.join(data_url, "raw", version)


def acquire(source: Source, data_url: str) -> Acquisition:
    """Fetch from ``source`` and land the files under ``data_url``; idempotent.

    Existing versions are never rewritten: when the manifest of the same
    content exists, nothing is written and ``created`` is False.
    """
    files = source.fetch()
    version, entries = content_version(files)
    target = raw_url(data_url, version)
    manifest_url = storage.join(target, "manifest.json")
    if storage.exists(manifest_url):
        manifest = storage.read_json(manifest_url)
        _point_latest(data_url, version)
        return Acquisition(version, target, manifest, created=False)
    for name, data in files.items():
        storage.write_bytes(storage.join(target, name), data)
    manifest = {
        "version": version,
        "files": entries,
        "source": source.describe(),
        "acquired_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    storage.write_json(manifest_url, manifest)
    _point_latest(data_url, version)
    return Acquisition(version, target, manifest, created=True)


def latest_version(data_url: str) -> str:
    """The version the last acquisition pointed at; raises FileNotFoundError if none."""
    return storage.read_json(storage.join(data_url, "raw", "latest.json"))["version"]


def read_raw(data_url: str, version: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files of raw version ``version`` and its manifest; checks every hash.

    Raises ValueError when a stored file no longer matches its manifest.
    """
    target = raw_url(data_url, version)
    manifest = storage.read_json(storage.join(target, "manifest.json"))
    files = {}
    for name, entry in manifest["files"].items():
        data = storage.read_bytes(storage.join(target, name))
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"{target}/{name}: content does not match its manifest")
        files[name] = data
    return files, manifest


def _point_latest(data_url: str, version: str) -> None:
    latest = storage.join(data_url, "raw", "latest.json")
    if storage.exists(latest) and storage.read_json(latest).get("version") == version:
        return
    storage.write_json(latest, {"version": version})
