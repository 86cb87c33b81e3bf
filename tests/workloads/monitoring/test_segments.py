"""Segments: drift planted in one regional office flags that office alone; a segment
smaller than the minimum size is too small to judge."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.workloads.monitoring.conftest import scored_rows
from workloads.monitoring.columns import monitored_frame
from workloads.monitoring.reference import Reference, champion_reference
from workloads.monitoring.segments import segment_drift


@pytest.fixture(scope="module")
def reference(trained: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Reference:
    cache = tmp_path_factory.mktemp("reference")
    return champion_reference(trained["data_url"], f"file://{cache}", "crm-test", "champion")


@pytest.fixture(scope="module")
def month(trained: dict[str, str], reference: Reference) -> pd.DataFrame:
    """A month without drift: the champion's own out-of-time deals, scored again."""
    rows = scored_rows(
        trained["data_url"], trained["version"], trained["month"], trained["eval_months"]
    )
    return reference.lookup.label(rows.sample(frac=0.8, random_state=2).reset_index(drop=True))


def plant_in(rows: pd.DataFrame, office: str) -> pd.DataFrame:
    """Every deal of ``office`` moved to the most expensive product, one account and a
    doubled time open."""
    moved = rows.copy()
    inside = moved["regional_office"].eq(office)
    moved.loc[inside, "product"] = "GTK 500"
    moved.loc[inside, "account"] = sorted(moved["account"].dropna().unique())[0]
    moved.loc[inside, "engage_date"] = moved.loc[inside, "as_of_date"] - 2 * (
        moved.loc[inside, "as_of_date"] - moved.loc[inside, "engage_date"]
    )
    return moved


def offices(entries: list[dict]) -> dict[str, dict]:
    return {e["segment"]: e for e in entries if e["dimension"] == "regional_office"}


def test_drift_in_one_office_flags_that_office_alone(
    reference: Reference, month: pd.DataFrame
) -> None:
    drifted = plant_in(month, "East")

    found = offices(
        segment_drift(monitored_frame(drifted), monitored_frame(reference.rows), 0.5, 30)
    )

    assert set(found) == {"East", "West", "Central"}
    assert all(not e["too_small"] for e in found.values())
    assert found["East"]["flagged"], found["East"]
    assert {"product", "account"} <= set(found["East"]["drifted_columns"])
    assert not found["West"]["flagged"] and not found["Central"]["flagged"]


def test_without_drift_no_office_is_flagged(reference: Reference, month: pd.DataFrame) -> None:
    found = offices(segment_drift(monitored_frame(month), monitored_frame(reference.rows), 0.5, 30))
    assert not any(e["flagged"] for e in found.values())


def test_a_small_segment_is_too_small_to_judge(reference: Reference, month: pd.DataFrame) -> None:
    drifted = plant_in(month, "East")
    sizes = drifted["regional_office"].value_counts()
    minimum = int(sizes["East"]) + 1

    found = offices(
        segment_drift(monitored_frame(drifted), monitored_frame(reference.rows), 0.5, minimum)
    )

    assert found["East"]["too_small"] and not found["East"]["flagged"]
    assert found["East"]["share"] is None
