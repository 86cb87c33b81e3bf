"""Data as users bring it (``tests/ml/fixtures/``, from the field cases): dates in
another format, one impossible date, a semicolon-separated export, a sector spelling
used as a product, a sales force larger than 255, and data too short to train on.
Each ends with a clear message and its evidence (quality.json, quarantine), never a
traceback."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ml import storage
from ml.data import schema as s
from ml.data.sources import FolderSource
from ml.data.synthetic import GeneratorConfig, generate, generate_csv_files
from ml.features import CrmTables
from ml.modeling.train import train
from ml.runs import DataError, acquire_step, process_month, resolve_month, train_month
from ml.settings import TrainingSettings
from ml.validation import QualityGateError, validate_files
from tests.ml.platform_settings import platform_settings

FIXTURES = Path(__file__).parent / "fixtures"


def crm_folder(tmp_path: Path, case: str | None = None, pipeline: str | None = None) -> Path:
    """The 8-deal ``mini_crm`` folder with ``case``'s sales_pipeline.csv (or ``pipeline``)."""
    folder = tmp_path / "crm"
    shutil.copytree(FIXTURES / "mini_crm", folder)
    if case:
        shutil.copy(FIXTURES / case / "sales_pipeline.csv", folder / "sales_pipeline.csv")
    if pipeline is not None:
        (folder / "sales_pipeline.csv").write_text(pipeline)
    return folder


def landed(tmp_path: Path, folder: Path) -> tuple[str, str]:
    url = f"file://{tmp_path / 'data'}"
    return url, acquire_step(FolderSource(folder), url)["version"]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.csv")}


def evidence(url: str, version: str, month: str | None = None) -> dict:
    target = storage.join(url, "processed", version, *([month] if month else []))
    quarantine = storage.read_parquet(storage.join(target, "quarantine.parquet"))
    return {"quality": storage.read_json(storage.join(target, "quality.json")),
            "quarantine": quarantine}  # fmt: skip


@pytest.mark.parametrize("month", [None, "2017-05"])
def test_dates_in_another_unambiguous_format_are_read_and_recorded(
    tmp_path: Path, month: str | None
) -> None:
    url, version = landed(tmp_path, crm_folder(tmp_path, "dates-other-format"))
    assert resolve_month(url, version, month)[1] == (month or "2017-06")
    summary = process_month(url, version, month, 0.95)
    assert summary["month"] == (month or "2017-06") and summary["quality_score"] == 1.0
    for where in (None, summary["month"]):
        report = evidence(url, version, where)["quality"]
        formats = report["dates"]["sales_pipeline.csv"]
        assert formats["engage_date"]["format"] == formats["close_date"]["format"] == "M/D/YYYY"
    assert "sales_pipeline.csv: engage_date read as M/D/YYYY" in summary["reading"]
    deals = storage.read_parquet(
        storage.join(url, "processed", version, summary["month"], "sales_pipeline.parquet")
    )
    assert deals.loc[deals["opportunity_id"].eq("QX02CD8Y"), "engage_date"].item() == (
        pd.Timestamp("2017-01-15")
    )


@pytest.mark.parametrize("month", [None, "2017-05"])
def test_an_ambiguous_date_column_is_refused_naming_it_with_its_evidence(
    tmp_path: Path, month: str | None
) -> None:
    text = (FIXTURES / "dates-other-format" / "sales_pipeline.csv").read_text()
    # every day at most 12: 1/9/2017 is January 9 or September 1
    for wide, narrow in (("1/15/", "1/5/"), ("2/20/", "2/10/"), ("3/20/", "3/10/"),
                         ("4/11/", "4/1/"), ("5/28/", "5/8/"), ("2/1/", "2/3/")):  # fmt: skip
        text = text.replace(wide, narrow)
    url, version = landed(tmp_path, crm_folder(tmp_path, pipeline=text))
    with pytest.raises((QualityGateError, DataError)) as raised:
        process_month(url, version, month, 0.95)
    message = str(raised.value)
    assert "engage_date is ambiguous" in message and "M/D/YYYY and D/M/YYYY" in message
    assert "the quality report and the quarantine are in file://" in message
    assert str(pickle.loads(pickle.dumps(raised.value))) == message  # as an orchestrator keeps it
    report = evidence(url, version, month)["quality"]
    assert report["score"] == 0.0 and not report["passed"]
    assert any("engage_date is ambiguous" in p for p in report["structural"])


def test_one_impossible_date_quarantines_its_row_and_the_run_goes_on(tmp_path: Path) -> None:
    url, version = landed(tmp_path, crm_folder(tmp_path, "one-impossible-date"))
    assert resolve_month(url, version, None) == (version, "2017-06")
    summary = process_month(url, version, None, 0.85)  # 7 of 8 rows clean
    assert summary["month"] == "2017-06"
    assert summary["quarantined_rows"]["sales_pipeline"] == 1
    quarantine = evidence(url, version)["quarantine"]
    bad = quarantine[quarantine["table"].eq("sales_pipeline")]
    assert "QX03EF9X" in bad["record"].item()
    assert "close_date: not a date (YYYY-MM-DD)" in bad["reasons"].item()


def test_an_unreadable_date_column_stops_month_resolution_with_a_clear_message(
    tmp_path: Path,
) -> None:
    text = "\n".join(
        line if i == 0 else ",".join(
            v if j not in (5, 6) or not v else "someday" for j, v in enumerate(line.split(","))
        )
        for i, line in enumerate((FIXTURES / "mini_crm" / "sales_pipeline.csv").read_text().splitlines())
    )  # fmt: skip
    url, version = landed(tmp_path, crm_folder(tmp_path, pipeline=text + "\n"))
    with pytest.raises(DataError, match="no valid engage_date or close_date"):
        resolve_month(url, version, None)
    with pytest.raises(QualityGateError, match="below the threshold"):
        process_month(url, version, None, 0.95)
    found = evidence(url, version)
    assert found["quality"]["score"] == 0.125  # only the undated Prospecting deal is clean
    assert len(found["quarantine"]) == 7


def test_a_semicolon_separated_export_is_named_and_read(tmp_path: Path) -> None:
    folder = crm_folder(tmp_path, "excel-semicolon")
    result = validate_files(files_of(folder))
    dialect = result.report["dialects"]["sales_pipeline.csv"]
    assert dialect == {"delimiter": ";", "byte_order_mark": True}
    assert "sales_pipeline.csv: semicolon-separated (read as such)" in result.report["reading"]
    assert result.report["score"] == 1.0 and len(result.tables[s.PIPELINE]) == 8
    # a European-locale export writes decimal commas in its ';' files
    accounts = (folder / "accounts.csv").read_text().replace(",", ";").replace("812.5", "812,5")
    (folder / "accounts.csv").write_text(accounts)
    revenue = validate_files(files_of(folder)).tables[s.ACCOUNTS].set_index("account")["revenue"]
    assert revenue["Fernwick"] == 812.5


def test_a_sector_spelling_is_never_a_valid_product(tmp_path: Path) -> None:
    text = (FIXTURES / "mini_crm" / "sales_pipeline.csv").read_text()
    folder = crm_folder(tmp_path, pipeline=text.replace("QX02CD8Y,Bert Nox,MG Special",
                                                        "QX02CD8Y,Bert Nox,technolgy"))  # fmt: skip
    result = validate_files(files_of(folder), threshold=0.5)
    reasons = result.quarantine.set_index("row")["reasons"]
    assert "unknown product" in reasons[1]
    fixed = {(q["column"], q["from"]) for q in result.report["quirks"]}
    assert ("product", "GTXPro") in fixed and ("product", "technolgy") not in fixed


def test_more_than_255_sales_agents_train_with_the_default_families() -> None:
    config = GeneratorConfig(rows=8800, seed=5, agents=400, agent_prefix="Rep")
    teams = generate(config)[s.TEAMS]
    head = pd.read_csv(FIXTURES / "many-agents" / "sales_teams.head.csv")
    assert list(teams["sales_agent"].head(len(head))) == list(head["sales_agent"])
    clean = validate_files(generate_csv_files(config)).tables
    tables = CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
    result = train(tables, TrainingSettings(trials=1))
    assert set(result.families) == {"logistic", "boosting"}
    assert result.splits.train["sales_agent"].nunique() > 255
    boosting = result.families["boosting"].model.estimator.estimator
    codes = boosting.named_steps["encode"].transform(
        result.pipeline.named_steps["features"].transform(result.splits.train)
    )[:, 0]
    assert len(set(codes)) <= 255


def test_too_little_data_to_train_says_what_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the run looks for a version trained on the same inputs first: a private registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    url, version = landed(tmp_path, crm_folder(tmp_path))
    summary = process_month(url, version, None, 0.95)
    with pytest.raises(DataError, match="cannot train: .* need at least"):
        train_month(url, version, summary["month"], platform_settings(data_url=url), "t")
