"""Every table of the CLI at 80 columns: nothing wider than the terminal, and every
URL, id, time and result whole on one line; ``-o wide`` shows every column."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from ops_cli.cli import render
from ops_cli.cli.commands import cluster, pipeline, release
from ops_cli.cli.tables import Column, age, fields, styled, table, utc_time
from ops_cli.release.images import ImageRef
from ops_cli.release.manifest import ModelRef, ReleaseManifest, seal
from ops_cli.release.records import AuditRecord, Check
from ops_cli.scheduler.base import Endpoint, Health, WorkloadStatus
from ops_cli.scheduler.nomad.plan import summarize_plan
from tests.ops_cli.nomad import nomad_fixtures

REPO = Path(__file__).resolve().parents[2]
ALB = "http://crm-staging-public-1234567890.eu-west-1.elb.amazonaws.com"


def lines_at(renderable: Any, width: int = 80) -> list[str]:
    """What a terminal of ``width`` columns shows (the CLI's consoles soft-wrap too)."""
    console = Console(width=width, file=io.StringIO(), force_terminal=False, soft_wrap=True)
    console.print(renderable)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def assert_fits_with_whole(renderable: Any, atoms: list[str], width: int = 80) -> list[str]:
    lines = lines_at(renderable, width)
    shown = "\n".join(lines)
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, f"wider than {width} columns:\n{shown}"
    for atom in atoms:
        assert any(atom in line for line in lines), f"{atom!r} not whole on one line:\n{shown}"
    return lines


def local_statuses() -> list[WorkloadStatus]:
    def service(name: str, port: int, label: str, **kw: Any) -> WorkloadStatus:
        url = f"http://127.0.0.1:{port}/"
        return WorkloadStatus(name, kw.pop("health", Health.HEALTHY), endpoints=(Endpoint(label, url),),
                              pid=4000 + port % 100, uptime_s=3725.0, **kw)  # fmt: skip

    return [
        service("storage", 18000, "S3 API", detail="GET http://127.0.0.1:18000/status -> 200"),
        service(
            "mlflow",
            18010,
            "MLflow UI",
            health=Health.UNHEALTHY,
            detail="GET http://127.0.0.1:18010/health -> connection refused (after 3 "
            "attempts in 30.0s); see `opsctl logs mlflow`",
        ),
        WorkloadStatus(
            "prefect-server",
            Health.HEALTHY,
            endpoints=(
                Endpoint("Prefect UI", "http://127.0.0.1:18020/"),
                Endpoint("Prefect API", "http://127.0.0.1:18020/api"),
            ),
            pid=4120,
            uptime_s=59.0,
        ),
        WorkloadStatus(
            "prefect-worker",
            Health.FAILED,
            detail="Exited too quickly (process log may have details)",
        ),
        service("serving", 18030, "Prediction API"),
        service("evidently-ui", 18040, "Evidently UI", health=Health.STARTING, detail="starting"),
        service("streamlit", 18050, "Streamlit app"),
    ]


def cluster_statuses() -> list[WorkloadStatus]:
    return [
        WorkloadStatus(
            "mlflow",
            Health.HEALTHY,
            detail="2/2 allocations running, deployment successful",
            endpoints=(Endpoint("MLflow UI", f"{ALB}:5000/"),),
            instances=2,
            version="14",
        ),
        WorkloadStatus(
            "streamlit",
            Health.HEALTHY,
            endpoints=(Endpoint("Streamlit app", f"{ALB}:8501/"),),
            instances=1,
            version="3",
        ),
    ]


def test_status_shows_service_health_and_every_url_whole() -> None:
    statuses = local_statuses()
    urls = [e.url for s in statuses for e in s.endpoints]
    lines = assert_fits_with_whole(render.status_table(statuses, "Environment 'local'"), urls)
    header = lines[1].split()
    assert header == ["service", "health", "url", "detail"]
    text = "\n".join(lines)
    assert "connection" in text and "refused" in text  # the detail of what is not healthy
    assert "/status -> 200" not in text  # a healthy service's probe is noise by default
    assert "4020" not in text  # pid and uptime only with -o wide


def test_status_of_a_cluster_keeps_long_load_balancer_urls_whole() -> None:
    statuses = cluster_statuses()
    urls = [e.url for s in statuses for e in s.endpoints]
    assert_fits_with_whole(render.status_table(statuses, "Environment 'staging'"), urls)


def test_status_wide_shows_every_field() -> None:
    lines = lines_at(render.status_table(local_statuses(), "Environment 'local'", wide=True), 200)
    assert lines[1].split() == ["service", "health", "endpoint", "url", "pid", "uptime", "detail"]
    text = "\n".join(lines)
    assert "Prefect API" in text and "1h2m" in text and "/status -> 200" in text
    lines = lines_at(render.status_table(cluster_statuses(), "x", wide=True), 200)
    assert {"instances", "version"} <= set(lines[1].split())


def test_endpoints_after_up_fit() -> None:
    statuses = local_statuses() + cluster_statuses()
    urls = [e.url for s in statuses for e in s.endpoints]
    assert_fits_with_whole(render.endpoint_table(statuses), urls)


def test_plan_fits_and_ends_with_a_summary_line() -> None:
    updated = summarize_plan("mlflow", nomad_fixtures.plan_answer(), {})
    created = summarize_plan("prefect-worker", nomad_fixtures.plan_answer(diff_type="Added"), {})
    unchanged = summarize_plan("streamlit", nomad_fixtures.plan_answer(diff_type="None"), {})
    plans = [updated, created, unchanged]
    lines = assert_fits_with_whole(
        cluster.plan_table(plans, "Plan for 'staging'"),
        ["mlflow", "prefect-worker", "streamlit", "update", "create", "none"],
    )
    assert "Config[image]" in "".join(lines)  # shown as it is, not read as markup
    assert cluster.plan_summary(plans) == (
        "Jobs: 1 to create, 1 to update, 0 to destroy, 1 unchanged."
    )
    assert "modify index" in lines_at(cluster.plan_table(plans, "x", wide=True), 200)[1]


PREFECT_STATUS = {
    "deployments": [
        {"name": "crm-pipeline", "flow": "crm-pipeline", "pool": "platform",
         "id": "6f0e2b55-7c3a-4f7e-9a51-0c1d2e3f4a5b", "schedules": []},
        {"name": "monthly", "flow": "training", "pool": "platform",
         "id": "0b7a9c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", "schedules": ["0 4 1 * *"]},
    ],
    "runs": [
        {"name": "glorious-mongoose", "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
         "state": "Completed", "start": "2026-11-27T10:15:00.123456+00:00",
         "end": "2026-11-27T10:19:42.654321+00:00"},
        {"name": "impetuous-caracal", "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
         "state": "Running", "start": "2026-11-27T11:00:00.000001+00:00", "end": None},
    ],
}  # fmt: skip


def test_pipeline_status_fits_with_whole_times_and_states() -> None:
    for title, columns, rows in pipeline.status_tables(PREFECT_STATUS):
        atoms = [str(v) for r in rows for k, v in r.items() if v and k != "id"]
        assert "training/monthly" in atoms or "impetuous-caracal" in atoms
        assert_fits_with_whole(table(columns, rows, title=title), atoms)
    deployments = pipeline.status_tables(PREFECT_STATUS)[0][2]
    assert [d["deployment"] for d in deployments] == [
        "crm-pipeline/crm-pipeline",
        "training/monthly",
    ]
    runs = pipeline.status_tables(PREFECT_STATUS)[1][2]
    assert runs[0]["start"] == "2026-11-27T10:15:00Z"
    wide = lines_at(table(pipeline.RUN_COLUMNS, runs, wide=True), 200)
    assert any("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a" in line for line in wide)


def model_versions() -> list[dict[str, Any]]:
    created = int((time.time() - 3 * 86400 - 7200) * 1000)
    metrics = {"eval_roc_auc": 0.5123, "eval_brier": 0.2311, "eval_pr_auc": 0.6511,
               "baseline_agent_win_rate_roc_auc": 0.5087, "baseline_win_rate_roc_auc": 0.5}  # fmt: skip
    return [
        {"name": "crm-win-probability", "version": "12", "aliases": ["challenger", "champion"],
         "created": created, "promotion": "not promoted", "run_id": "5f3c" * 8,
         "metrics": metrics},
        {"name": "crm-win-probability", "version": "11", "aliases": [], "created": created,
         "promotion": None, "run_id": "a1b2" * 8, "metrics": {}},
        {"name": "crm-win-probability", "version": "10", "aliases": [], "created": created,
         "promotion": "promoted", "run_id": "c3d4" * 8, "metrics": metrics,
         "kind": "baseline", "family": "agent_win_rate",
         "data": {"source": "folder", "version": "3f2a9c1d5e6f7a8b",
                  "months": {"eval": ["2017-10", "2017-11", "2017-12"]}}},
    ]  # fmt: skip


def test_model_list_fits_leaving_room_for_more() -> None:
    rows = pipeline.model_rows(model_versions())
    renderable = table(pipeline.MODEL_COLUMNS, rows, title="Model versions")
    lines = assert_fits_with_whole(
        renderable,
        ["12", "0.5123", "0.2311", "not promoted", "3d2h", "folder 3f2a9c1d"],
    )
    assert lines[1].split() == ["version", "aliases", "trained", "on", "age", "ROC-AUC", "Brier",
                                "promotion"]  # fmt: skip
    wide = "\n".join(lines_at(table(pipeline.MODEL_COLUMNS, rows, wide=True), 250))
    assert "5f3c" * 8 in wide and "eval_pr_auc=0.6511" in wide and "0.5087" in wide
    assert "2017-10..2017-12" in wide and "baseline: agent rate" in wide


def manifest() -> ReleaseManifest:
    return seal(
        ReleaseManifest(
            created_at=datetime(2026, 11, 27, 10, 15, tzinfo=UTC),
            created_by="github:release-bot (run 42)",
            source_environment="staging",
            git_commit="0123456789abcdef0123456789abcdef01234567",
            config_sha256="c" * 64,
            infrastructure={"terraform/modules/network": "1" * 64, "platform": "2" * 64},
            images=[
                ImageRef(
                    repository="ghcr.io/opsctl/crm-platform",
                    tag="1.4.0",
                    digest="sha256:" + "a" * 64,
                )
            ],
            model=ModelRef(
                name="crm-win-probability",
                version="7",
                alias="champion",
                run_id="5f3c",
                source="models:/m-5f3c",
                artifact_sha256="d" * 64,
            ),
        )
    )


def test_release_show_keeps_every_hash_and_digest_whole() -> None:
    m = manifest()
    view = SimpleNamespace(manifest=m, intact=True, integrity_detail="content hash matches",
                           verified=True)  # fmt: skip
    atoms = [m.release_id, m.git_commit, m.content_sha256, m.config_sha256, "sha256:" + "a" * 64,
             "d" * 64, "1" * 64, "2" * 64, "2026-11-27T10:15:00Z", "content hash matches"]  # fmt: skip
    assert_fits_with_whole(fields(release._manifest_fields(view), title="Release"), atoms)


def test_release_list_and_smoke_checks_fit() -> None:
    m = manifest()
    views = [SimpleNamespace(manifest=m, intact=True, verified=True),
             SimpleNamespace(manifest=m, intact=False, verified=False)]  # fmt: skip
    rows = release.release_rows(views, wide=False)
    assert_fits_with_whole(table(release.RELEASE_COLUMNS, rows), [m.release_id, "0123456789"])
    wide_rows = release.release_rows(views, wide=True)
    wide = "\n".join(lines_at(table(release.RELEASE_COLUMNS, wide_rows, wide=True), 250))
    assert m.git_commit in wide and "2026-11-27T10:15:00Z" in wide and "release-bot" in wide
    checks = [Check(name="services healthy", passed=True, detail="7 of 7 healthy"),
              Check(name="champion alias", passed=False, detail="champion is on version 6, "
                    "the release names version 7 of crm-win-probability")]  # fmt: skip
    assert_fits_with_whole(table(release.CHECK_COLUMNS, release.check_rows(checks)),
                           ["services healthy", "champion alias", "pass", "FAIL"])  # fmt: skip


def test_history_shows_time_release_result_and_model_whole() -> None:
    m = manifest()
    records = [
        AuditRecord(at=datetime(2026, 11, 27, 10, 20, 1, 123456, tzinfo=UTC),
                    actor="github:release-bot (run 43)", release_id=m.release_id,
                    from_environment="staging", to_environment="prod",
                    result="failed-rolled-back", model_version="7", previous_model_version="6",
                    detail="smoke check 'champion alias' failed; rolled back to release "
                    "20261120T080000Z-0a1b2c3d4e5f"),
        AuditRecord(at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC), actor="alice",
                    release_id=m.release_id, from_environment="staging",
                    to_environment="prod", result="succeeded", model_version="7"),
    ]  # fmt: skip
    lines = assert_fits_with_whole(
        table(release.AUDIT_COLUMNS, release.audit_rows(records), title="Audit log"),
        ["2026-11-27T10:20:01Z", "2026-11-28T09:00:00Z", m.release_id, "failed-rolled-back",
         "succeeded"],
    )  # fmt: skip
    assert lines[1].split() == ["time", "(UTC)", "release", "result", "model"]
    wide = lines_at(table(release.AUDIT_COLUMNS, release.audit_rows(records), wide=True), 250)
    assert "previous model" in wide[0] and "release-bot" in "\n".join(wide)


def test_rows_too_wide_for_the_terminal_become_records_with_nothing_cut() -> None:
    columns = (Column("name"), Column("url"), Column("note", text=True))
    rows = [{"name": "a", "url": f"{ALB}:8443/", "note": "free text " * 12}]
    lines = assert_fits_with_whole(table(columns, rows, title="T"), [rows[0]["url"]])
    assert lines[1] == "a" and lines[2].split()[0] == "url"


def test_values_are_text_not_markup_and_missing_ones_are_marked() -> None:
    columns = (Column("name"), Column("value"), Column("empty", optional=True))
    lines = [
        line.rstrip() for line in lines_at(table(columns, [{"name": "[b]x[/]", "value": None}]))
    ]
    assert lines == ["name     value", "[b]x[/]  -"]
    styled_row = {"name": styled("ok", "green"), "value": 1}
    assert lines_at(table(columns, [styled_row]))[1].rstrip() == "ok    1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 27, 10, 15, 0, 999, tzinfo=UTC), "2026-11-27T10:15:00Z"),
        ("2026-11-27T11:15:00+01:00", "2026-11-27T10:15:00Z"),
        ("2026-11-27T10:15:00Z", "2026-11-27T10:15:00Z"),
        (datetime(2026, 11, 27, 10, 15), "2026-11-27T10:15:00Z"),
        ("not a time", "not a time"),
        (None, None),
    ],
)
def test_utc_time(value: Any, expected: str | None) -> None:
    assert utc_time(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (59.9, "59s"), (60, "1m"), (312, "5m12s"), (3600, "1h"), (11040, "3h4m"),
     (190800, "2d5h"), (None, None)],
)  # fmt: skip
def test_age_reads_like_kubectl(seconds: float | None, expected: str | None) -> None:
    assert age(seconds) == expected


def test_status_command_at_80_columns_shows_every_url_whole(environments_dir, tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "80",
           "OPSCTL_ENVIRONMENTS_DIR": str(environments_dir),
           "OPSCTL_STATE_DIR": str(tmp_path / "state")}  # fmt: skip

    def opsctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ops_cli", "status", *args], env=env,
                              capture_output=True, text=True, timeout=60, cwd=REPO)  # fmt: skip

    services = json.loads(opsctl("-o", "json").stdout)["services"]
    urls = [e["url"] for s in services for e in s["endpoints"]]
    assert len(urls) >= 7
    shown = opsctl().stdout.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in shown), "\n".join(shown)
    for url in urls:
        assert any(url in line for line in shown), f"{url} not whole in:\n" + "\n".join(shown)
    assert "Prefect API" in opsctl("-o", "wide").stdout
