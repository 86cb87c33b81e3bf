"""Where raw data comes from: Kaggle, a local folder, or the built-in generator.

Every source answers the same question, :meth:`Source.fetch`: the dataset's
CSV files as bytes, keyed by file name. Landing them in storage is
:mod:`ml.data.acquire`'s job, so every source lands the same way.
"""

from __future__ import annotations

import abc
from pathlib import Path

from typing_extensions import override

from ml.data import schema
from ml.data.kaggle_credentials import (
    CredentialsFileError,
    describe_locations,
    kaggle_credentials,
)
from ml.data.synthetic import GeneratorConfig, generate_csv_files

KAGGLE_HANDLE = "innocentmfa/crm-sales-opportunities"
REQUIRED_FILES = tuple(f"{t}.csv" for t in schema.TABLES)
OPTIONAL_FILES = (f"{schema.DICTIONARY}.csv",)


class SourceError(RuntimeError):
    """A source cannot deliver: no credentials, a missing file, an unreadable folder."""


class Source(abc.ABC):
    """One origin of the dataset's files."""

    @abc.abstractmethod
    def describe(self) -> dict[str, object]:
        """What the source is, as recorded in the manifest (no secrets)."""

    @abc.abstractmethod
    def fetch(self) -> dict[str, bytes]:
        """The required CSV files (and optional ones present) as ``{name: bytes}``.

        Raises :class:`SourceError` naming what is missing.
        """


def read_folder(folder: Path) -> dict[str, bytes]:
    """The dataset's CSV files found in ``folder`` (searched recursively): each required
    one once, an optional one the first in path order.

    Raises :class:`SourceError` naming a missing file, a file found more than once
    (two datasets: which to read is ambiguous), an empty one or one that is not UTF-8.
    """
    if not folder.is_dir():
        raise SourceError(f"{folder}: not a folder")
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*.csv")):
        found.setdefault(path.name, []).append(path)
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise SourceError(f"{folder}: missing {', '.join(missing)}")
    wanted = [*REQUIRED_FILES, *(n for n in OPTIONAL_FILES if n in found)]
    twice = [name for name in REQUIRED_FILES if len(found[name]) > 1]
    if twice:
        raise SourceError(f"{folder}: holds {twice[0]} more than once: which dataset is ambiguous")
    files = {name: found[name][0].read_bytes() for name in wanted}
    for name in REQUIRED_FILES:
        if not files[name].strip():
            raise SourceError(f"{found[name][0]}: is empty")
        try:
            files[name].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{found[name][0]}: is not UTF-8 text ({exc.reason})") from None
    return files


class FolderSource(Source):
    """A local folder holding ``sales_pipeline.csv``, ``accounts.csv``, ``products.csv``
    and ``sales_teams.csv`` (``data_dictionary.csv`` optional)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder).expanduser()

    @override
    def describe(self) -> dict[str, object]:
        return {"kind": "folder", "path": str(self.folder)}

    @override
    def fetch(self) -> dict[str, bytes]:
        return read_folder(self.folder)


def kaggle_credentials_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether kagglehub would find credentials where it looks for them
    (:data:`ml.data.kaggle_credentials.KAGGLE_CREDENTIALS`).

    Raises :class:`SourceError` naming a ``kaggle.json`` kagglehub would refuse.
    """
    try:
        return kaggle_credentials(environ) is not None
    except CredentialsFileError as exc:
        raise SourceError(str(exc)) from None


class KaggleSource(Source):
    """The published dataset, downloaded through kagglehub when credentials are set."""

    def __init__(self, handle: str = KAGGLE_HANDLE) -> None:
        self.handle = handle

    @override
    def describe(self) -> dict[str, object]:
        return {"kind": "kaggle", "handle": self.handle}

    @override
    def fetch(self) -> dict[str, bytes]:
        if not kaggle_credentials_configured():
            raise SourceError(
                f"Kaggle credentials are not configured: kagglehub looks for "
                f"{describe_locations()}; or use a folder or synthetic"
            )
        import kagglehub

        try:
            folder = kagglehub.dataset_download(self.handle)
        except Exception as exc:  # kagglehub raises many types; all mean "not delivered"
            raise SourceError(f"Kaggle download of {self.handle} failed: {exc}") from exc
        return read_folder(Path(folder))


class SyntheticSource(Source):
    """The built-in seeded generator (:mod:`ml.data.synthetic`)."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config

    @override
    def describe(self) -> dict[str, object]:
        c = self.config
        return {
            "kind": "synthetic",
            "rows": c.rows,
            "seed": c.seed,
            "signal": c.signal,
            "drift": c.drift,
            "quirks": c.quirks,
        }

    @override
    def fetch(self) -> dict[str, bytes]:
        return generate_csv_files(self.config)


def make_source(spec: str, *, rows: int = 8800, seed: int = 42, drift: float = 0.0) -> Source:
    """The source a user names: ``kaggle``, ``synthetic`` or a folder path."""
    if spec == "kaggle":
        return KaggleSource()
    if spec == "synthetic":
        return SyntheticSource(GeneratorConfig(rows=rows, seed=seed, drift=drift))
    return FolderSource(spec)
