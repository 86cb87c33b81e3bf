"""SeaweedFS's S3 gateway for tests, started from the catalog's ``storage`` spec the
way the local platform starts it (every port on loopback, identities file from
the spec), and stopped and started again on the same data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from ops_cli.catalog import load_catalog
from ops_cli.catalog.placeholders import fill
from ops_cli.scheduler.local.workload import tool_path

ACCESS_KEY, SECRET_KEY = "serving-tests", "serving-tests-secret"


class SeaweedS3:
    """``weed server`` with its S3 gateway on ``port_base`` + the spec's offsets."""

    def __init__(self, folder: Path, port_base: int) -> None:
        self.folder, self.port_base = folder, port_base
        self.spec = load_catalog()["storage"]
        self.process: subprocess.Popen[bytes] | None = None
        context = {"bind_host": "127.0.0.1", "data_dir": str(folder),
                   "secret.s3-access-key": ACCESS_KEY, "secret.s3-secret-key": SECRET_KEY,
                   "secret.seaweedfs-jwt-key": "serving-tests-signing-key",
                   "telemetry.report_usage": "false"}  # fmt: skip
        context.update({f"port.{n}": str(port_base + p.offset) for n, p in self.spec.ports.items()})
        self.command = [fill(part, context, where="storage") for part in self.spec.command]
        self.files = {f.path: fill(f.content, context, where="storage") for f in self.spec.files}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port_base + self.spec.ports['s3'].offset}"

    def env(self) -> dict[str, str]:
        """What a client of this gateway needs (``ml.storage`` reads these)."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": self.endpoint}  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # a killed weed leaves its unix sockets behind, and a new one cannot bind them
        for stale in self.folder.rglob("*.sock"):
            stale.unlink(missing_ok=True)
        for name, content in self.files.items():
            (self.folder / name).write_text(content)
        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PATH": tool_path()},
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "weed.log").read_text()[-2000:]
            try:
                if httpx.get(f"{self.endpoint}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"SeaweedFS S3 not healthy after {timeout} s")

    def stop(self) -> None:
        """Kill the gateway at once (storage that fails, as a crash or a network cut
        looks to a client); its data folder stays for :meth:`start`."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines weed wrote, for a failure's message."""
        log = self.folder / "weed.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")  # fmt: skip
