"""Static discovery: a registry file the local scheduler writes after ``up``."""

from __future__ import annotations

from pathlib import Path

from typing_extensions import override

from ops_cli.discovery.base import Discovery, ServiceInstance
from ops_cli.scheduler.base import WorkloadStatus
from ops_cli.state import read_json, write_json_atomic


def write_registry(path: Path, statuses: list[WorkloadStatus]) -> None:
    """Record every endpoint of ``statuses`` as ``{service: [{label, url}]}``."""
    data = {s.name: [{"label": e.label, "url": e.url} for e in s.endpoints] for s in statuses}
    write_json_atomic(path, data, mode=0o644)


class StaticDiscovery(Discovery):
    """Reads the registry file; instances are listed whether or not they are up."""

    def __init__(self, registry_file: Path) -> None:
        self.registry_file = registry_file

    @override
    def resolve(self, service: str) -> list[ServiceInstance]:
        entries = (read_json(self.registry_file) or {}).get(service, [])
        instances = []
        for entry in entries[:1]:  # the first endpoint is the service's own address
            url = entry["url"]
            hostport = url.split("://", 1)[-1].split("/", 1)[0]
            host, _, port = hostport.rpartition(":")
            instances.append(ServiceInstance(service, host, int(port), url.rstrip("/")))
        return instances
