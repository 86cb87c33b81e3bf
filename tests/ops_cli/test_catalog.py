"""The workload catalog: spec validation and the checks across specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_cli.catalog import load_catalog
from ops_cli.catalog.placeholders import fill, placeholders_in
from ops_cli.errors import ConfigError

SERVICE = """
name: {name}
description: test service
command: [run, "${{port.http}}"]
ports:
  http: {{offset: {offset}}}
health: {{type: http, port: http, path: /health}}
depends_on: {deps}
"""


def write_spec(folder: Path, name: str, offset: int, deps: str = "[]") -> None:
    (folder / f"{name}.yaml").write_text(SERVICE.format(name=name, offset=offset, deps=deps))


def test_shipped_platform_services_all_start_at_once() -> None:
    catalog = load_catalog()
    names = ["storage", "mlflow", "prefect-server", "prefect-worker"]
    assert catalog.start_order(names) == [["mlflow", "prefect-server", "prefect-worker", "storage"]]


def test_start_order_puts_dependents_in_later_waves(tmp_path: Path) -> None:
    write_spec(tmp_path, "aa", 0)
    write_spec(tmp_path, "bb", 1, "[aa]")
    write_spec(tmp_path, "cc", 2, "[bb]")
    write_spec(tmp_path, "dd", 3)
    assert load_catalog(tmp_path).start_order(["aa", "bb", "cc", "dd"]) == [
        ["aa", "dd"],
        ["bb"],
        ["cc"],
    ]


def test_start_order_ignores_dependencies_the_environment_does_not_run() -> None:
    catalog = load_catalog()
    assert catalog.start_order(["mlflow"]) == [["mlflow"]]


def test_dependency_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    write_spec(tmp_path, "aa", 0, "[bb]")
    write_spec(tmp_path, "bb", 1, "[aa]")
    with pytest.raises(ConfigError, match="cycle: (aa -> bb -> aa|bb -> aa -> bb)"):
        load_catalog(tmp_path)


def test_unknown_dependency_is_named(tmp_path: Path) -> None:
    write_spec(tmp_path, "aa", 0, "[ghost]")
    with pytest.raises(ConfigError, match=r"'aa': depends_on names unknown \['ghost'\]"):
        load_catalog(tmp_path)


def test_two_workloads_cannot_share_a_port_offset(tmp_path: Path) -> None:
    write_spec(tmp_path, "aa", 5)
    write_spec(tmp_path, "bb", 5)
    with pytest.raises(ConfigError, match=r"offset 5 is claimed by both aa.http and bb.http"):
        load_catalog(tmp_path)


def test_a_scrape_password_file_is_one_the_metrics_workload_renders(tmp_path: Path) -> None:
    write_spec(tmp_path, "metrics", 0)
    (tmp_path / "aa.yaml").write_text(
        SERVICE.format(name="aa", offset=1, deps="[]")
        + "metrics: {port: http, basic_auth: {username: me, password_file: aa-password}}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"'aa': metrics.basic_auth.password_file 'aa-password' is not one of the metrics",
    ):
        load_catalog(tmp_path)
    (tmp_path / "metrics.yaml").write_text(
        SERVICE.format(name="metrics", offset=0, deps="[]")
        + "files: [{path: aa-password, content: '${secret.aa-password}'}]\n"
    )
    metrics = load_catalog(tmp_path)["aa"].metrics
    assert metrics is not None and metrics.basic_auth is not None
    assert metrics.basic_auth.username == "me"


def test_spec_errors_name_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "aa.yaml").write_text(
        "name: aa\ndescription: x\ncommand: [x]\nports: {http: {offset: 1}}\n"
        "health: {type: http, port: web}\n"
    )
    with pytest.raises(ConfigError, match=r"aa\.yaml: invalid workload spec: .*health.port 'web'"):
        load_catalog(tmp_path)


def test_spec_name_must_match_file(tmp_path: Path) -> None:
    write_spec(tmp_path, "aa", 0)
    (tmp_path / "aa.yaml").rename(tmp_path / "bb.yaml")
    with pytest.raises(ConfigError, match="must match the file name 'bb'"):
        load_catalog(tmp_path)


def test_a_service_needs_a_health_check(tmp_path: Path) -> None:
    (tmp_path / "aa.yaml").write_text("name: aa\ndescription: x\ncommand: [x]\n")
    with pytest.raises(ConfigError, match="a service needs a health check"):
        load_catalog(tmp_path)


def test_placeholders_fill_and_leave_runtime_variables_alone() -> None:
    text = "--port=${port.http} --alloc=${NOMAD_ALLOC_DIR} literal=$${port.http}"
    assert placeholders_in(text) == {"port.http"}
    assert fill(text, {"port.http": "8080"}, where="w") == (
        "--port=8080 --alloc=${NOMAD_ALLOC_DIR} literal=${port.http}"
    )


def test_unknown_placeholder_names_where_it_was_used() -> None:
    with pytest.raises(
        ConfigError, match=r"workload 'x' command: unknown placeholder '\$\{nope\}'"
    ):
        fill("${nope}", {}, where="workload 'x' command")


def test_load_balancer_targets_match_the_catalog() -> None:
    from ops_cli.provision.tfvars import SERVICE_PORTS

    catalog = load_catalog()
    assert catalog["serving"].ports["http"].lb_port == SERVICE_PORTS["api"]
    assert catalog["streamlit"].ports["http"].lb_port == SERVICE_PORTS["ui"]


def test_optional_secret_placeholders_are_told_apart_from_required_ones() -> None:
    from ops_cli.catalog.placeholders import placeholders_in, secret_reference

    text = "${secret?alert-webhook-url} ${secret.s3-access-key} ${NOMAD_PORT_http} $${secret?x}"
    names = placeholders_in(text)
    assert names == {"secret?alert-webhook-url", "secret.s3-access-key"}
    assert secret_reference("secret?alert-webhook-url") == ("alert-webhook-url", False)
    assert secret_reference("secret.s3-access-key") == ("s3-access-key", True)
    assert secret_reference("bind_host") is None
