"""``opsctl monitor`` and ``opsctl demo``: usage errors, the environment's rules, and the
status rows built from the documents the monitoring flow writes."""

from __future__ import annotations

import json

import pytest
import yaml

from ops_cli.monitor.summary import GENERATED, month_rows, summarise
from tests.ops_cli.test_cli import opsctl


def result(month: str, share: float | None, performance: list[dict], firing: bool = False) -> dict:
    return {
        "month": month,
        "current_rows": 300,
        "drift": None if share is None else {"share": share, "drifted_columns": ["product"],
                                             "not_computable": {"deal_stage": "..."}},
        "performance": performance,
        "triggers": [{"rule": "drift_share", "firing": firing}],
    }  # fmt: skip


def entry(month: str, coverage: float, realised: float | None) -> dict:
    return {
        "month": month,
        "label_coverage": coverage,
        "estimated": {"roc_auc": 0.6, "brier": 0.22},
        "realised": None if realised is None else {"roc_auc": 0.61, "brier": realised},
    }


def test_a_month_row_takes_the_newest_labels() -> None:
    results = [
        result("2018-02", 0.75, [entry("2018-02", 0.0, None)], firing=True),
        result("2018-01", 0.25, [entry("2018-01", 0.2, None)]),
        result("2018-03", None, [entry("2018-01", 0.9, 0.21), entry("2018-02", 0.6, 0.23)]),
    ]
    alerts = [{"month": "2018-02", "retraining": {"status": "started", "flow_run_id": "run-1"}}]

    rows = month_rows(results, alerts)

    assert [r["month"] for r in rows] == ["2018-01", "2018-02", "2018-03"]
    first, second, third = rows
    assert (first["label_coverage"], first["realised_brier"]) == (0.9, 0.21)
    assert (second["drift_share"], second["alerts"], second["retraining_runs"]) == (
        0.75,
        1,
        ["run-1"],
    )
    assert second["rules_firing"] == ["drift_share"] and second["not_computable"] == ["deal_stage"]
    assert third["drift_share"] is None and third["realised_brier"] is None


def test_a_replay_is_reported_apart_and_as_generated() -> None:
    replayed = [result("2018-01", 0.0, [entry("2018-01", 0.5, 0.2)])]
    status = summarise([], [], {"replay_id": "r1", "status": "finished"}, replayed, [])
    assert status["months"] == []
    assert status["replay"]["note"] == GENERATED
    assert status["replay"]["months_monitored"][0]["month"] == "2018-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("monitor", "run", "--month", "2018-13"), "--month 2018-13: expected YYYY-MM"),
        (("monitor", "run", "--month", "9999-01"), "--month 9999-01: has not begun"),
        (("demo", "replay", "--drift", "1.5"), "--drift"),
        (("demo", "replay", "--months", "0"), "--months"),
        (("demo", "replay", "--env", "staging"), "local environment only"),
    ],
)
def test_usage_errors_exit_2(environments_dir, tmp_path, args: tuple, message: str) -> None:
    done = opsctl(*args, env_dir=environments_dir, state=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_status_without_a_platform_says_so(environments_dir, tmp_path) -> None:
    done = opsctl("monitor", "status", "-o", "json", env_dir=environments_dir, state=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == done.returncode
    # what to do next, not which secret variable to export
    assert (
        "no running platform" in document["error"] and "opsctl up --env local" in document["error"]
    )


def test_a_rule_with_n_above_m_is_refused(environments_dir, tmp_path) -> None:
    base = environments_dir / "base.yaml"
    config = yaml.safe_load(base.read_text())
    config["monitoring"]["rules"]["drift_share"]["n"] = 4
    base.write_text(yaml.safe_dump(config))
    done = opsctl("config", "show", env_dir=environments_dir, state=tmp_path)
    assert done.returncode == 2
    assert "monitoring.rules.drift_share" in done.stderr and "must not exceed" in done.stderr


def test_status_table_fits_80_columns_with_figures_whole() -> None:
    from ops_cli.cli.commands.monitor import MONTH_COLUMNS, month_table_rows
    from ops_cli.cli.tables import table
    from tests.ops_cli.test_tables import assert_fits_with_whole, lines_at

    results = [
        result("2018-01", 0.25, [entry("2018-01", 0.835, 0.241008)]),
        result("2018-02", 1.0, [entry("2018-02", 0.62, 0.228504)], firing=True),
    ]
    alerts = [
        {"month": "2018-02", "retraining": {"flow_run_id": "90ae4881-dd5a-4ce7-be36-995879fc79e3"}}
    ]
    rows = month_table_rows(month_rows(results, alerts))

    lines = assert_fits_with_whole(
        table(MONTH_COLUMNS, rows, title="Monitored months"),
        ["2018-01", "0.25", "1.00", "0.220", "0.241", "0.229", "84%", "62%"],
    )
    assert lines[1].split()[:4] == ["month", "rows", "drift", "share"]
    wide = "\n".join(lines_at(table(MONTH_COLUMNS, rows, wide=True), 200))
    assert "90ae4881-dd5a-4ce7-be36-995879fc79e3" in wide and "drift_share" in wide
