"""Read the catalog files and check them as a whole (names, dependencies, ports)."""

from __future__ import annotations

import graphlib
import importlib.resources
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ops_cli.catalog.spec import WorkloadSpec
from ops_cli.errors import ConfigError


@dataclass(frozen=True)
class Catalog:
    """Every workload spec, by name; dependencies known to form no cycle."""

    specs: dict[str, WorkloadSpec]

    def __getitem__(self, name: str) -> WorkloadSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise ConfigError(
                f"unknown workload '{name}'; the catalog has: {', '.join(sorted(self.specs))}"
            ) from None

    def __iter__(self) -> Iterator[WorkloadSpec]:
        return iter(self.specs.values())

    def start_order(self, names: Iterable[str]) -> list[list[str]]:
        """Waves of workloads: each wave depends only on earlier waves.

        Dependencies outside ``names`` are ignored (the environment does not
        run them, e.g. object storage is AWS S3 in the cloud).
        """
        selected = set(names)
        sorter = graphlib.TopologicalSorter(
            {n: [d for d in self[n].depends_on if d in selected] for n in selected}
        )
        sorter.prepare()
        waves = []
        while sorter.is_active():
            wave = sorted(sorter.get_ready())
            waves.append(wave)
            sorter.done(*wave)
        return waves


def default_catalog_dir() -> Path:
    """The catalog shipped in the ``workloads`` package (read as data, not imported code)."""
    return Path(str(importlib.resources.files("workloads") / "catalog"))


def load_catalog(folder: Path | None = None) -> Catalog:
    """Load and cross-check every ``*.yaml`` spec in ``folder``.

    Raises :class:`ConfigError` naming the file for a bad spec, an unknown
    dependency, a dependency cycle, two workloads claiming one port offset or a
    scrape password file the ``metrics`` workload does not render.
    """
    folder = folder or default_catalog_dir()
    specs = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = _read_spec(path)
        specs[spec.name] = spec
    catalog = Catalog(specs)
    _check_dependencies(catalog)
    _check_port_offsets(catalog)
    _check_scrape_password_files(catalog)
    return catalog


def _read_spec(path: Path) -> WorkloadSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = WorkloadSpec.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid workload spec: {problems}") from None
    if spec.name != path.stem:
        raise ConfigError(f"{path}: name '{spec.name}' must match the file name '{path.stem}'")
    return spec


def _check_dependencies(catalog: Catalog) -> None:
    for spec in catalog:
        unknown = [d for d in spec.depends_on if d not in catalog.specs]
        if unknown:
            raise ConfigError(f"workload '{spec.name}': depends_on names unknown {unknown}")
    graph = {spec.name: spec.depends_on for spec in catalog}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise ConfigError(
            f"workload dependencies form a cycle: {' -> '.join(exc.args[1])}"
        ) from None


def _check_port_offsets(catalog: Catalog) -> None:
    owners: dict[int, str] = {}
    for spec in catalog:
        for label, port in spec.ports.items():
            owner = owners.setdefault(port.offset, f"{spec.name}.{label}")
            if owner != f"{spec.name}.{label}":
                raise ConfigError(
                    f"port offset {port.offset} is claimed by both {owner} and {spec.name}.{label}"
                )


def _check_scrape_password_files(catalog: Catalog) -> None:
    """Every ``metrics.basic_auth.password_file`` is a file of the ``metrics`` workload."""
    rendered = (
        {f.path for f in catalog.specs["metrics"].files} if "metrics" in catalog.specs else set()
    )
    for spec in catalog:
        auth = spec.metrics.basic_auth if spec.metrics else None
        if auth and auth.password_file not in rendered:
            raise ConfigError(
                f"workload '{spec.name}': metrics.basic_auth.password_file "
                f"'{auth.password_file}' is not one of the metrics workload's files"
            )
