"""Live checks against `nomad agent -dev`; skipped where no `nomad` binary is on PATH.

They verify what fixtures cannot: that a real agent accepts the request shapes
and answers a lost EnforceIndex race the way the client expects.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from ops_cli.scheduler.nomad.client import NomadClient, NomadConflictError, RetryPolicy
from ops_cli.scheduler.nomad.connection import NomadConnection
from ops_cli.scheduler.nomad.plan import summarize_plan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("nomad") is None, reason="no nomad binary on PATH"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def nomad_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NomadClient]:
    http = _free_port()
    data = tmp_path_factory.mktemp("nomad")
    agent = subprocess.Popen(
        ["nomad", "agent", "-dev", "-bind=127.0.0.1", f"-data-dir={data}",
         f"-config={_ports_config(data, http)}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = NomadClient(
        NomadConnection(address=f"http://127.0.0.1:{http}", namespace="default"),
        retry=RetryPolicy(attempts=30, initial_wait_s=0.5, max_wait_s=1.0),
    )
    try:
        client.job("warm-up")  # retried until the agent answers
        yield client
    finally:
        agent.terminate()
        agent.wait(timeout=30)


def _ports_config(folder, http: int) -> str:
    path = folder / "ports.hcl"
    rpc, serf = _free_port(), _free_port()
    path.write_text(f"ports {{\n  http = {http}\n  rpc = {rpc}\n  serf = {serf}\n}}\n")
    return str(path)


def _job(job_id: str) -> dict:
    return {
        "ID": job_id,
        "Name": job_id,
        "Type": "service",
        "Datacenters": ["*"],
        "TaskGroups": [
            {
                "Name": "web",
                "Count": 1,
                "Tasks": [
                    {
                        "Name": "web",
                        "Driver": "raw_exec",
                        "Config": {"command": "/bin/sleep", "args": ["300"]},
                        "Resources": {"CPU": 100, "MemoryMB": 64},
                    }
                ],
            }
        ],
    }


def test_a_new_job_plans_as_create_and_a_stale_index_is_refused(nomad_dev: NomadClient) -> None:
    job = _job(f"opsctl-live-{uuid.uuid4().hex[:8]}")
    plan = summarize_plan(job["ID"], nomad_dev.plan(job), job)
    assert plan.change == "create"
    assert plan.modify_index == 0

    nomad_dev.register(job, modify_index=0)
    with pytest.raises(NomadConflictError):
        nomad_dev.register(job, modify_index=0)  # it exists now: 0 is stale

    for _ in range(20):
        if nomad_dev.versions(job["ID"]):
            break
        time.sleep(0.5)
    assert nomad_dev.versions(job["ID"])[0]["Version"] == 0
    nomad_dev.deregister(job["ID"])
