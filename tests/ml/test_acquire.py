"""Acquisition from three sources into immutable, content-versioned storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import storage
from ml.data import acquire as acq
from ml.data import sources
from ml.data.synthetic import GeneratorConfig, generate_csv_files


def _write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_identical_data_lands_once_and_says_so(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/data"
    source = sources.SyntheticSource(GeneratorConfig(rows=1000))
    first = acq.acquire(source, url)
    second = acq.acquire(source, url)
    assert first.created and not second.created
    assert first.version == second.version
    assert "nothing written" in second.message
    assert acq.latest_version(url) == first.version
    files, manifest = acq.read_raw(url, first.version)
    assert manifest["source"]["kind"] == "synthetic"
    assert set(files) == set(manifest["files"])


def test_changed_data_gets_a_new_version_and_old_one_stays(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/data"
    one = acq.acquire(sources.SyntheticSource(GeneratorConfig(rows=1000, seed=1)), url)
    two = acq.acquire(sources.SyntheticSource(GeneratorConfig(rows=1000, seed=2)), url)
    assert one.version != two.version
    assert storage.exists(storage.join(url, "raw", one.version, "manifest.json"))
    assert acq.latest_version(url) == two.version


def test_tampered_raw_file_is_detected(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/data"
    landed = acq.acquire(sources.SyntheticSource(GeneratorConfig(rows=1000)), url)
    storage.write_bytes(storage.join(landed.url, "products.csv"), b"product\nX\n")
    with pytest.raises(ValueError, match="does not match"):
        acq.read_raw(url, landed.version)


def test_folder_source_reads_the_csv_files(tmp_path: Path) -> None:
    files = generate_csv_files(GeneratorConfig(rows=1000))
    folder = _write_folder(tmp_path / "crm", files)
    fetched = sources.make_source(str(folder)).fetch()
    assert fetched == files


def test_folder_source_names_missing_files(tmp_path: Path) -> None:
    folder = _write_folder(tmp_path / "crm", {"accounts.csv": b"account\n"})
    with pytest.raises(sources.SourceError, match=r"sales_pipeline\.csv"):
        sources.FolderSource(folder).fetch()


def test_kaggle_without_credentials_says_how_to_set_them(monkeypatch, tmp_path: Path) -> None:
    for variable in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(sources.SourceError, match="KAGGLE_USERNAME"):
        sources.make_source("kaggle").fetch()


def test_kaggle_download_lands_like_any_source(monkeypatch, tmp_path: Path) -> None:
    import kagglehub

    files = generate_csv_files(GeneratorConfig(rows=1000))
    folder = _write_folder(tmp_path / "download" / "versions" / "1", files)
    asked = []

    def fake_download(handle: str) -> str:
        asked.append(handle)
        return str(folder.parent.parent)

    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    monkeypatch.setattr(kagglehub, "dataset_download", fake_download)
    landed = acq.acquire(sources.make_source("kaggle"), f"file://{tmp_path}/data")
    assert asked == [sources.KAGGLE_HANDLE]
    assert landed.created and landed.manifest["source"] == {
        "kind": "kaggle",
        "handle": sources.KAGGLE_HANDLE,
    }


def test_s3_endpoint_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:19000")
    options = storage.storage_options("s3://crm-data/raw")
    assert options["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:19000"}
    assert storage.storage_options("file:///tmp/x") == {}
