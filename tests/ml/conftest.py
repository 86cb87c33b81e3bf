"""Small generated datasets shared by the ML tests (kept small so tests stay fast)."""

from __future__ import annotations

import pytest

from ml.data import schema as s
from ml.data.synthetic import GeneratorConfig, generate_csv_files
from ml.features import CrmTables
from ml.validation import validate_files

ROWS = 3000


@pytest.fixture(scope="session")
def csv_files() -> dict[str, bytes]:
    return generate_csv_files(GeneratorConfig(rows=ROWS, seed=7))


@pytest.fixture(scope="session")
def tables(csv_files: dict[str, bytes]) -> CrmTables:
    clean = validate_files(csv_files).tables
    return CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
