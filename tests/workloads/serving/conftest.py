"""Two small real models (gradient boosting and logistic regression) trained on
generator data once per session, and an in-memory model source to serve them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ml.data import schema as s
from ml.data.synthetic import GeneratorConfig, generate_csv_files
from ml.features import CrmTables
from ml.modeling.train import TrainingResult, train
from ml.settings import TrainingSettings
from ml.validation import validate_files

TREES_RUNTIME = "tl2cgen" if shutil.which(os.environ.get("CC") or "gcc") else "treelite"
"""What scores a tree ensemble here: its native code when a C compiler is at hand, else GTIL."""


@pytest.fixture(scope="session", autouse=True)
def native_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Native tree libraries are built into a folder of the test session, not the user's cache."""
    folder = tmp_path_factory.mktemp("native-trees")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRM_NATIVE_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def crm_tables() -> CrmTables:
    clean = validate_files(generate_csv_files(GeneratorConfig(rows=3000, seed=7))).tables
    return CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])


@pytest.fixture(scope="session")
def trained(crm_tables: CrmTables) -> dict[str, TrainingResult]:
    """One training result per model family (a few search trials only)."""
    return {
        family: train(crm_tables, TrainingSettings(trials=2, families=(family,)))
        for family in ("boosting", "logistic")
    }


@pytest.fixture(scope="session")
def eval_inputs(trained: dict[str, TrainingResult]) -> pd.DataFrame:
    return trained["boosting"].eval_inputs


@dataclass
class MemorySource:
    """A model source over fitted pipelines by version; ``alias_version`` moves the alias."""

    versions: dict[str, Pipeline]
    alias_version: str
    name: str = "crm-win-probability"
    alias: str = "champion"
    loads: list[str] = field(default_factory=list)
    version_tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def resolve(self) -> str:
        return self.alias_version

    def load(self, version: str) -> Pipeline:
        self.loads.append(version)
        return self.versions[version]

    def tags(self, version: str) -> dict[str, str]:
        return self.version_tags.get(version, {})


@pytest.fixture
def source(trained: dict[str, TrainingResult]) -> MemorySource:
    """Version 1 (boosting) is the champion; version 2 (logistic) is registered."""
    return MemorySource(
        {"1": trained["boosting"].pipeline, "2": trained["logistic"].pipeline}, alias_version="1"
    )


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of ``INPUT_COLUMNS`` as JSON-ready dicts (dates as ISO strings, NaN as null)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key in ("engage_date", "as_of_date"):
            if row[key] is not None:
                row[key] = pd.Timestamp(row[key]).date().isoformat()
    return out
