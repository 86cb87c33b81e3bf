"""The catalog refuses at load what Nomad's own job validation would refuse.

Fixtures under ``fixtures/nomad-update-rules`` are update blocks an operator
wrote that Nomad refuses; each must fail at load, naming the file and the two
fields that conflict, before any plan reaches a cluster.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops_cli.catalog import load_catalog
from ops_cli.catalog.loader import default_catalog_dir
from ops_cli.config.models import NomadConstraint
from ops_cli.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "nomad-update-rules"


def catalog_with(tmp_path: Path, workload: str, change: dict[str, Any]) -> Path:
    """A copy of the shipped catalog where ``workload``'s spec has ``change`` merged in."""
    folder = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), folder)
    path = folder / f"{workload}.yaml"
    spec = yaml.safe_load(path.read_text())
    for key, value in change.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and key in spec else value
    path.write_text(yaml.safe_dump(spec))
    return path


def test_operator_override_with_healthy_deadline_past_progress_deadline(tmp_path: Path) -> None:
    override = yaml.safe_load((FIXTURES / "mlflow-update-override.yaml").read_text())
    path = catalog_with(tmp_path, "mlflow", override)
    with pytest.raises(ConfigError) as caught:
        load_catalog(path.parent)
    message = str(caught.value)
    assert str(path) in message
    assert "healthy_deadline_s (900)" in message and "progress_deadline_s (600)" in message


@pytest.mark.parametrize(
    ("variant", "fields"),
    [
        ("min_healthy_not_below_healthy_deadline", ("min_healthy_time_s", "healthy_deadline_s")),
        ("auto_promote_without_canary", ("auto_promote", "canary")),
    ],
)
def test_other_update_blocks_nomad_refuses(tmp_path: Path, variant: str, fields: tuple) -> None:
    variants = yaml.safe_load((FIXTURES / "other-variants.yaml").read_text())
    path = catalog_with(tmp_path, "serving", variants[variant])
    with pytest.raises(ConfigError) as caught:
        load_catalog(path.parent)
    assert str(path) in str(caught.value)
    assert all(field in str(caught.value) for field in fields)


def test_a_raised_healthy_deadline_loads_with_a_raised_progress_deadline(tmp_path: Path) -> None:
    override = yaml.safe_load((FIXTURES / "mlflow-update-override.yaml").read_text())
    override["update"]["progress_deadline_s"] = 1200
    path = catalog_with(tmp_path, "mlflow", override)
    assert load_catalog(path.parent)["mlflow"].update.healthy_deadline_s == 900


@pytest.mark.parametrize(
    ("health", "field"),
    [
        ({"interval_s": 0.5}, "interval_s"),
        ({"timeout_s": 0.2}, "timeout_s"),
        ({"path": "http://elsewhere/health"}, "path"),
    ],
)
def test_checks_nomad_refuses(tmp_path: Path, health: dict, field: str) -> None:
    path = catalog_with(tmp_path, "serving", {"health": health})
    with pytest.raises(ConfigError, match=rf"{path}: invalid workload spec: health.{field}"):
        load_catalog(path.parent)


def test_port_label_must_be_a_nomad_label(tmp_path: Path) -> None:
    path = catalog_with(
        tmp_path, "serving", {"ports": {"http": {"offset": 30}, "admin-ui": {"offset": 31}}}
    )
    with pytest.raises(ConfigError, match=rf"{path}: invalid workload spec: ports"):
        load_catalog(path.parent)


def test_port_label_that_makes_an_overlong_service_name_is_refused(tmp_path: Path) -> None:
    label = "x" * 60
    path = catalog_with(
        tmp_path, "serving", {"ports": {"http": {"offset": 30}, label: {"offset": 31}}}
    )
    with pytest.raises(ConfigError, match=rf"ports.{label}: the service name 'serving-x+'"):
        load_catalog(path.parent)


def test_underscored_labels_become_dashed_service_names() -> None:
    storage = load_catalog()["storage"]
    assert storage.service_name("s3") == "storage"
    assert storage.service_name("master_grpc") == "storage-master-grpc"


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"attribute": "${node.class}", "operator": "=", "value": ""}, "needs a non-empty value"),
        ({"attribute": "${node.class}", "operator": "~", "value": "x"}, "unknown to Nomad"),
        ({"attribute": "${meta.gpu}", "operator": "is_set", "value": "yes"}, "takes no value"),
        ({"attribute": "${attr.os}", "operator": "regexp", "value": "(["}, "regular expression"),
        ({"operator": "set_contains", "value": "a"}, "needs an attribute"),
        (
            {"attribute": "${node.unique.id}", "operator": "distinct_property", "value": "0"},
            "positive",
        ),
    ],
)
def test_constraints_nomad_refuses(constraint: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NomadConstraint.model_validate(constraint)


def test_constraints_nomad_accepts() -> None:
    NomadConstraint.model_validate({"operator": "distinct_hosts", "value": "true"})
    NomadConstraint.model_validate({"attribute": "${meta.gpu}", "operator": "is_set"})
    NomadConstraint.model_validate({"attribute": "${node.class}", "value": "platform"})
