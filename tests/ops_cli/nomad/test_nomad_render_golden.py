"""The rendered Nomad jobs of staging and prod, compared with the checked-in golden files.

``pytest tests/ops_cli/nomad/test_nomad_render_golden.py --update-golden`` rewrites
them; an intended change to a job updates its golden file in the same commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import nomad_fixtures as fx
import pytest

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.scheduler.nomad.render import render_jobs

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "nomad"
ENVIRONMENTS = ("staging", "prod")
PINNED = fx.APPLIED
"""A cluster deploy pins the image by digest (a release sets it) and knows the database's
address and password secret (the infrastructure outputs); the golden jobs use these."""


def _rendered() -> dict[tuple[str, str], dict]:
    catalog = load_catalog()
    jobs = {}
    for env in ENVIRONMENTS:
        config = load_environment(env, REPO / "environments", environ=PINNED)
        for name, job in render_jobs(config, catalog).items():
            jobs[(env, name)] = job
    return jobs


RENDERED = _rendered()
GOLDEN_FILES = sorted(p.relative_to(GOLDEN).with_suffix("") for p in GOLDEN.glob("*/*.json"))
CASES = sorted({*RENDERED, *((p.parts[0], p.parts[1]) for p in GOLDEN_FILES)})


@pytest.mark.parametrize(("env", "job"), CASES, ids=[f"{e}/{j}" for e, j in CASES])
def test_rendered_job_matches_golden_file(env: str, job: str, update_golden: bool) -> None:
    path = GOLDEN / env / f"{job}.json"
    rendered = RENDERED.get((env, job))
    if update_golden:
        if rendered is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert rendered is not None, f"{path} is a golden file for a job that is no longer rendered"
    assert path.exists(), f"no golden file {path}; run pytest with --update-golden"
    assert rendered == json.loads(path.read_text(encoding="utf-8"))


def test_the_alert_webhook_is_an_optional_item_of_the_alerts_jobs_variable() -> None:
    """``${secret?NAME}`` renders the same ``nomadVar`` read as a required secret (an
    item the Variable lacks renders empty), into a 0600 template, never the job."""
    job = RENDERED[("prod", "alerts")]
    task = job["TaskGroups"][0]["Tasks"][-1]
    webhook = next(t for t in task["Templates"] if t["DestPath"].endswith("/webhook-url"))
    assert webhook["EmbeddedTmpl"] == (
        '{{ with nomadVar "nomad/jobs/alerts" }}{{ .alert_webhook_url }}{{ end }}'
    )
    assert webhook["Perms"] == "0600"
    assert "alert_webhook_url" not in json.dumps(task["Config"])
