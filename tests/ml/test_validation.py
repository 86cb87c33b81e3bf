"""Corrupted input is quarantined with reasons, scored, and stopped by the gate."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from ml.data import schema as s
from ml.validation import QualityGateError, validate_files


def _pipeline(files: dict[str, bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files["sales_pipeline.csv"]), dtype=str)


def _with_pipeline(files: dict[str, bytes], frame: pd.DataFrame) -> dict[str, bytes]:
    return {**files, "sales_pipeline.csv": frame.to_csv(index=False).encode()}


def _reasons(result, row: int) -> str:
    quarantine = result.quarantine
    return quarantine.loc[
        (quarantine["table"] == s.PIPELINE) & (quarantine["row"] == row), "reasons"
    ].item()


def test_clean_data_scores_one_and_reports_reconciled_quirks(csv_files) -> None:
    result = validate_files(csv_files)
    assert result.report["score"] == 1.0 and result.report["passed"]
    assert {q["from"] for q in result.report["quirks"]} == {"GTXPro", "technolgy"}
    assert "GTXPro" not in set(result.tables[s.PIPELINE]["product"])
    assert result.quarantine.empty


def test_bad_rows_are_quarantined_with_reasons_never_dropped(csv_files) -> None:
    frame = _pipeline(csv_files)
    won = frame.index[frame["deal_stage"] == "Won"]
    frame.loc[0, "engage_date"] = "2017-13-45"
    frame.loc[1, "product"] = "Quantum 9000"
    frame.loc[2, "opportunity_id"] = frame.loc[3, "opportunity_id"]
    frame.loc[won[5], "close_value"] = "0"
    frame.loc[won[6], "close_date"] = "2016-01-01"
    frame.loc[won[7], "sales_agent"] = "Nobody Known"
    result = validate_files(_with_pipeline(csv_files, frame))
    assert "engage_date: not a date" in _reasons(result, 0)
    assert "unknown product" in _reasons(result, 1)
    assert "duplicate opportunity_id" in _reasons(result, 3)
    assert "won deal has close_value > 0" in _reasons(result, won[5])
    assert "engage_date <= close_date" in _reasons(result, won[6])
    assert "unknown sales_agent" in _reasons(result, won[7])
    kept = len(result.tables[s.PIPELINE])
    assert kept + result.report["quarantined_rows"][s.PIPELINE] == len(frame)
    assert result.report["score"] == pytest.approx(kept / len(frame))
    checks = result.report["checks"][s.PIPELINE]
    assert checks["duplicate opportunity_id"]["failed_rows"] == 1


def test_open_and_prospecting_rules(csv_files) -> None:
    frame = _pipeline(csv_files)
    engaging = frame.index[frame["deal_stage"] == "Engaging"][0]
    prospect = frame.index[frame["deal_stage"] == "Prospecting"][0]
    frame.loc[engaging, "close_date"] = "2017-12-01"
    frame.loc[prospect, "engage_date"] = "2017-05-01"
    result = validate_files(_with_pipeline(csv_files, frame))
    assert "open deal has no close_date" in _reasons(result, engaging)
    assert "prospecting deal has no engage_date" in _reasons(result, prospect)


def test_missing_column_scores_zero_and_the_gate_stops(csv_files) -> None:
    frame = _pipeline(csv_files).drop(columns=["close_date"])
    result = validate_files(_with_pipeline(csv_files, frame))
    assert result.report["score"] == 0.0
    assert "missing columns close_date" in result.report["structural"][0]
    with pytest.raises(QualityGateError, match="close_date") as raised:
        result.gate()
    assert raised.value.report["passed"] is False


def test_missing_file_is_structural(csv_files) -> None:
    files = {k: v for k, v in csv_files.items() if k != "products.csv"}
    result = validate_files(files)
    assert result.report["score"] == 0.0
    assert "products.csv: file missing" in result.report["structural"]


def test_a_header_only_pipeline_file_says_it_has_no_rows(csv_files) -> None:
    result = validate_files(_with_pipeline(csv_files, _pipeline(csv_files).head(0)))
    assert result.report["score"] == 0.0
    with pytest.raises(QualityGateError, match="sales_pipeline has no rows"):
        result.gate()


def test_many_bad_rows_fall_below_the_threshold(csv_files) -> None:
    frame = _pipeline(csv_files)
    frame.loc[: len(frame) // 10, "product"] = "Unknown"
    result = validate_files(_with_pipeline(csv_files, frame), threshold=0.95)
    assert result.report["score"] < 0.95
    with pytest.raises(QualityGateError, match="unknown product"):
        result.gate()


def test_a_bad_reference_row_quarantines_the_deals_using_it(csv_files) -> None:
    accounts = pd.read_csv(io.BytesIO(csv_files["accounts.csv"]), dtype=str)
    victim = accounts.loc[0, "account"]
    accounts.loc[0, "sector"] = "astrology"
    files = {**csv_files, "accounts.csv": accounts.to_csv(index=False).encode()}
    result = validate_files(files)
    assert result.report["quarantined_rows"][s.ACCOUNTS] == 1
    assert victim not in set(result.tables[s.PIPELINE]["account"].dropna())
