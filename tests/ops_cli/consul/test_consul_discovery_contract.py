"""ConsulDiscovery against a real HTTP server answering in Consul's documented shapes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ops_cli.config.loader import load_environment
from ops_cli.discovery.consul import (
    ConsulConnection,
    ConsulDiscovery,
    ConsulPermissionError,
    consul_connection,
    next_index,
)
from ops_cli.errors import OpsError
from ops_cli.secrets import SecretStore

REPO = Path(__file__).resolve().parents[3]


def health_entry(node_address: str, service_address: str, port: int) -> dict:
    return {
        "Node": {
            "ID": "40e4a748",
            "Node": "client-1",
            "Address": node_address,
            "Datacenter": "dc1",
            "Meta": {},
        },
        "Service": {
            "ID": f"_nomad-task-{port}",
            "Service": "mlflow",
            "Tags": ["staging"],
            "Address": service_address,
            "Meta": {},
            "Port": port,
        },
        "Checks": [
            {
                "CheckID": "serfHealth",
                "Name": "Serf Health Status",
                "Status": "passing",
                "ServiceID": "",
                "ServiceName": "",
            }
        ],
    }


def discovery_for(server: HTTPServer, **kwargs) -> ConsulDiscovery:
    connection = ConsulConnection(server.host, server.port, token="consul-tok")
    return ConsulDiscovery(connection, kv_prefix="opsctl/staging", sleep=lambda _s: None, **kwargs)


def test_resolve_asks_for_passing_instances_and_falls_back_to_the_node_address(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/v1/health/service/mlflow",
        query_string={"passing": "1"},
        headers={"X-Consul-Token": "consul-tok"},
    ).respond_with_json(
        [health_entry("10.0.1.5", "", 25001), health_entry("10.0.1.6", "172.17.0.3", 25002)],
        headers={"X-Consul-Index": "42"},
    )

    instances = discovery_for(httpserver).resolve("mlflow")

    assert [(i.address, i.port) for i in instances] == [("10.0.1.5", 25001), ("172.17.0.3", 25002)]
    assert instances[0].url == "http://10.0.1.5:25001"
    assert instances[0].tags == ("staging",)


def test_no_healthy_instance_is_an_empty_list(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "7"}
    )

    assert discovery_for(httpserver).resolve("mlflow") == []


def test_5xx_is_retried_then_named(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_data(
        "No cluster leader", status=500
    )

    with pytest.raises(OpsError, match="could not look up service 'mlflow'"):
        discovery_for(httpserver, attempts=3).resolve("mlflow")

    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("previous", "returned", "expected"),
    [(0, 42, 42), (42, 42, 42), (42, 57, 57), (57, 12, 0), (0, 0, 1), (5, -1, 0)],
)
def test_blocking_index_rules(previous: int, returned: int, expected: int) -> None:
    assert next_index(previous, returned) == expected


def test_watch_passes_the_index_back_and_reports_only_changes(httpserver: HTTPServer) -> None:
    one = [health_entry("10.0.1.5", "", 25001)]
    two = [*one, health_entry("10.0.1.6", "", 25002)]
    httpserver.expect_oneshot_request(
        "/v1/health/service/mlflow", query_string={"passing": "1"}
    ).respond_with_json(one, headers={"X-Consul-Index": "10"})
    httpserver.expect_oneshot_request(
        "/v1/health/service/mlflow", query_string={"index": "10", "wait": "5s", "passing": "1"}
    ).respond_with_json(one, headers={"X-Consul-Index": "11"})  # woke up, nothing changed
    httpserver.expect_oneshot_request(
        "/v1/health/service/mlflow", query_string={"index": "11", "wait": "5s", "passing": "1"}
    ).respond_with_json(two, headers={"X-Consul-Index": "3"})  # index went backwards
    httpserver.expect_oneshot_request(
        "/v1/health/service/mlflow", query_string={"passing": "1"}
    ).respond_with_json(two, headers={"X-Consul-Index": "4"})  # reset to 0: a plain read

    sleeps: list[float] = []
    discovery = ConsulDiscovery(
        ConsulConnection(httpserver.host, httpserver.port),
        sleep=sleeps.append,
        clock=lambda: 0.0,
    )
    watch = discovery.watch(
        "mlflow", wait="5s", min_interval_s=1.0, should_stop=lambda: len(httpserver.log) >= 4
    )
    seen = [len(instances) for instances in watch]

    assert seen == [1, 2]
    assert len(httpserver.log) == 4
    assert sleeps and all(s == 1.0 for s in sleeps)  # rate-limited between queries
    httpserver.check_assertions()


def test_settings_are_read_with_their_modify_index(httpserver: HTTPServer) -> None:
    encoded = base64.b64encode(b"challenger").decode()
    httpserver.expect_request("/v1/kv/opsctl/staging/serving/model_alias").respond_with_json(
        [
            {
                "CreateIndex": 100,
                "ModifyIndex": 200,
                "LockIndex": 0,
                "Key": "opsctl/staging/serving/model_alias",
                "Flags": 0,
                "Value": encoded,
                "Session": "",
            }
        ],
        headers={"X-Consul-Index": "200"},
    )

    setting = discovery_for(httpserver).read_setting("serving/model_alias")

    assert setting is not None
    assert (setting.value, setting.modify_index) == ("challenger", 200)


def test_an_unset_setting_is_none(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/kv/opsctl/staging/absent").respond_with_data(
        "", status=404, headers={"X-Consul-Index": "5"}
    )

    assert discovery_for(httpserver).read_setting("absent") is None


@pytest.mark.parametrize(("answer", "expected"), [("true", True), ("false", False)])
def test_settings_are_written_with_check_and_set(
    httpserver: HTTPServer, answer: str, expected: bool
) -> None:
    httpserver.expect_request(
        "/v1/kv/opsctl/staging/serving/model_alias",
        method="PUT",
        query_string={"cas": "200"},
        data=b"champion",
    ).respond_with_data(answer, content_type="application/json")

    written = discovery_for(httpserver).write_setting(
        "serving/model_alias", "champion", expected_index=200
    )

    assert written is expected
    httpserver.check_assertions()


def test_consul_variables_override_the_config(tmp_path: Path) -> None:
    config = load_environment("staging", REPO / "environments", environ={})
    environ = {"CONSUL_HTTP_ADDR": "https://consul.internal:8501", "CONSUL_HTTP_TOKEN": "from-env"}
    connection = consul_connection(config, SecretStore(tmp_path / "s.json", environ), environ)

    assert (connection.scheme, connection.host, connection.port) == (
        "https",
        "consul.internal",
        8501,
    )
    assert connection.token == "from-env"
    assert "from-env" not in repr(connection)


def test_a_bad_consul_address_names_itself(tmp_path: Path) -> None:
    config = load_environment("staging", REPO / "environments", environ={})
    environ = {"CONSUL_HTTP_ADDR": "http://consul:notaport"}

    with pytest.raises(OpsError, match="consul:notaport"):
        consul_connection(config, SecretStore(tmp_path / "s.json", environ), environ)


def stored_token_discovery(server: HTTPServer, tmp_path: Path, environ: dict) -> ConsulDiscovery:
    """Discovery built as opsctl builds it, the token from the secret store's variable."""
    config = load_environment("staging", REPO / "environments", environ={})
    environ = {"CONSUL_HTTP_ADDR": f"http://127.0.0.1:{server.port}", **environ}
    connection = consul_connection(config, SecretStore(tmp_path / "s.json", environ), environ)
    return ConsulDiscovery(connection, sleep=lambda _s: None)


def test_an_answer_filtered_by_acls_is_a_permission_error_naming_the_token_variable(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    # a token without service:read: Consul answers 200 [] and says it filtered
    httpserver.expect_request(
        "/v1/health/service/mlflow", headers={"X-Consul-Token": "no-read"}
    ).respond_with_json(
        [], headers={"X-Consul-Index": "12", "X-Consul-Results-Filtered-By-ACLs": "true"}
    )
    discovery = stored_token_discovery(
        httpserver, tmp_path, {"OPSCTL_SECRET_CONSUL_TOKEN": "no-read"}
    )

    with pytest.raises(ConsulPermissionError) as caught:
        discovery.resolve("mlflow")

    message = str(caught.value)
    assert "filtered the answer to look up service 'mlflow' by ACLs" in message
    assert "OPSCTL_SECRET_CONSUL_TOKEN" in message and "not a missing service" in message
    assert "no-read" not in message + (caught.value.hint or "")
    assert len(httpserver.log) == 1  # a permission problem is not retried


def test_a_partly_filtered_answer_is_refused_too(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [health_entry("10.0.1.5", "", 25001)],
        headers={"X-Consul-Index": "12", "X-Consul-Results-Filtered-By-ACLs": "true"},
    )
    discovery = stored_token_discovery(httpserver, tmp_path, {"CONSUL_HTTP_TOKEN": "some-read"})

    with pytest.raises(ConsulPermissionError, match=r"CONSUL_HTTP_TOKEN .* saw only 1 entries"):
        discovery.resolve("mlflow")


def test_a_watch_stops_on_a_filtered_answer_instead_of_reporting_no_instances(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "12", "X-Consul-Results-Filtered-By-ACLs": "true"}
    )
    discovery = stored_token_discovery(httpserver, tmp_path, {"CONSUL_HTTP_TOKEN": "no-read"})

    with pytest.raises(ConsulPermissionError, match="watch service 'mlflow'"):
        next(discovery.watch("mlflow", wait="1s"))


def test_no_token_against_default_deny_is_a_permission_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    # the anonymous token never gets the filtered header; the default policy tells
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "12", "X-Consul-Default-ACL-Policy": "deny"}
    )
    discovery = stored_token_discovery(httpserver, tmp_path, {})

    with pytest.raises(ConsulPermissionError) as caught:
        discovery.resolve("mlflow")

    assert "no token is set" in str(caught.value)
    assert "CONSUL_HTTP_TOKEN or OPSCTL_SECRET_CONSUL_TOKEN" in (caught.value.hint or "")


def test_an_empty_unfiltered_answer_with_a_token_is_no_instances(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/v1/health/service/mlflow").respond_with_json(
        [], headers={"X-Consul-Index": "12", "X-Consul-Default-ACL-Policy": "deny"}
    )
    discovery = stored_token_discovery(httpserver, tmp_path, {"CONSUL_HTTP_TOKEN": "reader"})

    assert discovery.resolve("mlflow") == []


def test_a_refused_setting_read_is_a_permission_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/v1/kv/opsctl/serving/model_alias").respond_with_data(
        "Permission denied: token lacks key:read", status=403
    )
    discovery = stored_token_discovery(httpserver, tmp_path, {"CONSUL_HTTP_TOKEN": "no-kv"})

    with pytest.raises(ConsulPermissionError, match="permission denied .* CONSUL_HTTP_TOKEN"):
        discovery.read_setting("serving/model_alias")
