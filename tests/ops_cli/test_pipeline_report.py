"""The first run on real data says what happened in one screen: rows read and
quarantined, quality, months trained and evaluated, the model's and the baselines'
metrics side by side, the decision and its reason, and which model now serves; read
from the registry's tags (an MLflow store on disk stands in for the server)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from mlflow import MlflowClient
from rich.console import Console

from ops_cli.cli import pipeline_view
from ops_cli.pipeline_report import run_report

NOTE = "no learned model beats the historical win rate on this data; serving the baseline"
REUSED = ("reused v1 (same data, code and settings): nothing trained or registered; the gate "
          "did not run again, so v1 keeps its aliases (challenger); champion v2")  # fmt: skip
DATA = {"source": "folder", "origin": "/home/me/crm", "version": "3f2a9c1d5e6f7a8b",
        "month": "2017-12", "quality_score": 0.9991, "reading": ["sales_pipeline.csv: "
        "semicolon-separated (read as such)"],
        "rows": {"read": 8800, "quarantined": 8, "train": 9120, "val": 2210, "eval": 3105},
        "months": {"train": ["2017-03", "2017-04", "2017-05", "2017-06", "2017-07"],
                   "val": ["2017-08", "2017-09"], "eval": ["2017-10", "2017-11", "2017-12"]}}  # fmt: skip


def _registry(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("crm", artifact_location=str(tmp_path / "art"))
    client.create_registered_model("crm-win-probability")
    data = json.dumps(DATA)
    reason = f"{NOTE}: the challenger does not beat baseline:historical_win_rate"
    learned = client.create_run(experiment, tags={
        "pipeline_run_id": "run-1", "kind": "learned", "family": "boosting", "data": data,
        "promotion.decision": "not promoted", "promotion.reason": reason, "model_version": "1",
    })  # fmt: skip
    baseline = client.create_run(experiment, tags={
        "pipeline_run_id": "run-1", "kind": "baseline", "family": "historical_win_rate",
        "data": data})  # fmt: skip
    for name, value in (("eval_roc_auc", 0.5312), ("eval_brier", 0.2351),
                        ("baseline_historical_win_rate_roc_auc", 0.5),
                        ("baseline_historical_win_rate_brier", 0.2339),
                        ("baseline_agent_win_rate_roc_auc", 0.5207),
                        ("baseline_agent_win_rate_brier", 0.2347)):  # fmt: skip
        client.log_metric(learned.info.run_id, name, value)
    for run, kind in ((learned, "learned"), (baseline, "baseline")):
        version = client.create_model_version("crm-win-probability", "file:///m", run.info.run_id)
        family = "boosting" if kind == "learned" else "historical_win_rate"
        for key, value in (("kind", kind), ("family", family), ("data", data)):
            client.set_model_version_tag("crm-win-probability", version.version, key, value)
    client.set_registered_model_alias("crm-win-probability", "champion", "2")
    client.set_registered_model_alias("crm-win-probability", "challenger", "1")
    client.create_run(experiment, tags={
        "pipeline_run_id": "run-2", "kind": "reused", "family": "boosting", "data": data,
        "model_version": "1", "reused.run_id": learned.info.run_id, "reuse.message": REUSED,
    })  # fmt: skip
    return uri


def test_one_screen_says_what_the_run_did_and_what_serves(tmp_path: Path) -> None:
    report = run_report(_registry(tmp_path), "crm-win-probability", "champion", "run-1")
    assert report["training"]["data"]["rows"] == DATA["rows"]
    assert report["serving"]["version"] == "2" and report["serving"]["kind"] == "baseline"
    screen = _screen(report, width=200)
    for expected in (
        "8800 rows read, 8 quarantined, quality score 0.999",
        "semicolon-separated",
        "trained 2017-03..2017-07 (9120 rows)",
        "evaluated out of time 2017-10..2017-12 (3105 rows)",
        "model v1 (boosting)",
        "baseline: historical win rate",
        "0.5312",
        "0.2339",
        "not promoted: " + NOTE,
        "Serving   crm-win-probability v2 (baseline: win rate), trained on folder 3f2a9c1d",
    ):
        assert expected in screen, f"{expected!r} missing from:\n{screen}"
    assert len(_screen(report, width=100).splitlines()) <= 24  # one screen


def _screen(report: dict, width: int) -> str:
    before, table, after = pipeline_view.report_lines(report)
    console = Console(width=width, record=True, file=io.StringIO())
    for line in before:
        console.print(line, markup=False)
    console.print(table)
    for line in after:
        console.print(line, markup=False)
    return console.export_text()


def test_a_run_that_trained_nothing_still_says_what_serves(tmp_path: Path) -> None:
    report = run_report(_registry(tmp_path), "crm-win-probability", "champion", "other-run")
    assert report["training"] is None
    _before, table, after = pipeline_view.report_lines(report)
    assert table is None and after[0].startswith("Serving   crm-win-probability v2")
    assert after[1].strip() == NOTE


def test_a_run_that_reused_a_version_says_so_with_what_it_was_trained_on(tmp_path: Path) -> None:
    uri = _registry(tmp_path)
    report = run_report(uri, "crm-win-probability", "champion", "run-2")
    training = report["training"]
    assert training["reused"] and training["model_version"] == "1"
    assert training["aliases"] == ["challenger"] and not training["promoted"]
    assert training["data"]["rows"] == DATA["rows"] and training["model"]["roc_auc"] == 0.5312
    screen = _screen(report, width=200)
    for expected in (
        "8800 rows read, 8 quarantined",
        "model v1 (boosting)",
        "0.5312",
        f"Decision  {REUSED}",
        "--force trains, registers and gates a new version",
        "Serving   crm-win-probability v2 (baseline: win rate)",
    ):
        assert expected in screen, f"{expected!r} missing from:\n{screen}"
    assert "not promoted" not in screen
    assert len(_screen(report, width=100).splitlines()) <= 24  # one screen
    # the run that trained v1 still reports its own decision
    assert not run_report(uri, "crm-win-probability", "champion", "run-1")["training"]["reused"]


def test_a_promotion_says_when_the_service_switches_to_the_new_champion(tmp_path: Path) -> None:
    report = run_report(_registry(tmp_path), "crm-win-probability", "champion", "run-1")
    assert "next check of the alias" not in _screen(report, width=200)  # not promoted
    report["training"]["promoted"] = True
    screen = _screen(report, width=200)
    assert "loads a new champion at its next check of the alias (every 30 s" in screen
    assert len(_screen(report, width=100).splitlines()) <= 24  # still one screen
