"""The rendered Nomad jobs of staging and prod, compared with the checked-in golden files.

``OPSCTL_UPDATE_GOLDEN=1 pytest tests/ops_cli/nomad/test_render_golden.py`` rewrites
them; an intended change to a job updates its golden file in the same commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ops_cli.catalog import load_catalog
from ops_cli.config.loader import load_environment
from ops_cli.scheduler.nomad.render import render_jobs

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "nomad"
ENVIRONMENTS = ("staging", "prod")


def _rendered() -> dict[tuple[str, str], dict]:
    catalog = load_catalog()
    jobs = {}
    for env in ENVIRONMENTS:
        config = load_environment(env, REPO / "environments", environ={})
        for name, job in render_jobs(config, catalog).items():
            jobs[(env, name)] = job
    return jobs


RENDERED = _rendered()
GOLDEN_FILES = sorted(p.relative_to(GOLDEN).with_suffix("") for p in GOLDEN.glob("*/*.json"))
CASES = sorted({*RENDERED, *((p.parts[0], p.parts[1]) for p in GOLDEN_FILES)})


@pytest.mark.parametrize(("env", "job"), CASES, ids=[f"{e}/{j}" for e, j in CASES])
def test_rendered_job_matches_golden_file(env: str, job: str) -> None:
    path = GOLDEN / env / f"{job}.json"
    rendered = RENDERED.get((env, job))
    if os.environ.get("OPSCTL_UPDATE_GOLDEN") == "1":
        if rendered is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert rendered is not None, f"{path} is a golden file for a job that is no longer rendered"
    assert path.exists(), f"no golden file {path}; run with OPSCTL_UPDATE_GOLDEN=1"
    assert rendered == json.loads(path.read_text(encoding="utf-8"))
