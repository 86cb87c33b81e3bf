"""Nomad and Consul tokens travel over TLS in staging and prod.

The config refuses an ``http://`` address off the machine where TLS is required,
naming the field; the CA and client certificate settings reach python-nomad and
py-consul, shown against a real HTTPS server (pytest-httpserver with a private CA
from trustme) that demands a client certificate, as a cluster with mutual TLS does.
No Nomad or Consul binary runs here: the servers' own TLS is configuration only.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from ops_cli.config.loader import load_environment
from ops_cli.discovery.consul import ConsulDiscovery, consul_connection
from ops_cli.errors import ConfigError, OpsError
from ops_cli.scheduler.nomad.client import NomadClient, RetryPolicy
from ops_cli.scheduler.nomad.connection import nomad_connection
from ops_cli.secrets import SecretStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private CA, a server certificate for localhost and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("opsctl@cluster.local")
    paths = {
        "ca": folder / "ca.pem",
        "server": folder / "server.pem",
        "client_cert": folder / "client.pem",
        "client_key": folder / "client-key.pem",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client_cert"]))
    client.private_key_pem.write_to_path(str(paths["client_key"]))
    return paths


@pytest.fixture
def mtls_server(pki: dict[str, Path]) -> Iterator[HTTPServer]:
    """HTTPS on loopback that refuses callers without a certificate from the CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki["server"]))
    context.load_verify_locations(str(pki["ca"]))
    context.verify_mode = ssl.CERT_REQUIRED
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def tls_environ(server: HTTPServer, pki: dict[str, Path], **extra: str) -> dict[str, str]:
    address = f"https://localhost:{server.port}"
    return {
        "NOMAD_ADDR": address,
        "NOMAD_CACERT": str(pki["ca"]),
        "NOMAD_CLIENT_CERT": str(pki["client_cert"]),
        "NOMAD_CLIENT_KEY": str(pki["client_key"]),
        "CONSUL_HTTP_ADDR": address,
        "CONSUL_CACERT": str(pki["ca"]),
        "CONSUL_CLIENT_CERT": str(pki["client_cert"]),
        "CONSUL_CLIENT_KEY": str(pki["client_key"]),
        **extra,
    }


def nomad_client(environ: dict[str, str], tmp_path: Path) -> NomadClient:
    config = load_environment("staging", REPO / "environments", environ={})
    connection = nomad_connection(config, SecretStore(tmp_path / "s.json", environ), environ)
    return NomadClient(connection, retry=RetryPolicy(attempts=1), sleep=lambda _s: None)


@pytest.mark.parametrize(
    ("variable", "field"),
    [("OPSCTL_NOMAD__ADDRESS", "nomad.address"), ("OPSCTL_CONSUL__ADDRESS", "consul.address")],
)
@pytest.mark.parametrize("name", ["staging", "prod"])
def test_the_config_refuses_plain_http_to_the_cluster(name, variable, field) -> None:
    environ = {variable: "http://cluster.internal:4646"}
    with pytest.raises(ConfigError, match=f"{field} is http://cluster.internal:4646.*https://"):
        load_environment(name, REPO / "environments", environ=environ)
    secure = {variable: "https://cluster.internal:4646"}
    assert load_environment(name, REPO / "environments", environ=secure)


def test_config_show_exits_2_naming_the_field(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_SECRET_SERVING_API_KEY": "k" * 32,
        "OPSCTL_CONSUL__ADDRESS": "http://consul.internal:8500",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ops_cli", "config", "show", "--env", "prod"],
        capture_output=True, text=True, env=env, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert "consul.address is http://consul.internal:8500" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_client_certificate_needs_its_key(tmp_path) -> None:
    environ = {"OPSCTL_NOMAD__CLIENT_CERT": str(tmp_path / "c.pem")}
    with pytest.raises(ConfigError, match="client_cert and client_key go together"):
        load_environment("staging", REPO / "environments", environ=environ)
    config = load_environment("staging", REPO / "environments", environ={})
    store = SecretStore(tmp_path / "s.json", {})
    with pytest.raises(ConfigError, match="NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY go together"):
        nomad_connection(config, store, {"NOMAD_CLIENT_CERT": str(tmp_path / "c.pem")})
    with pytest.raises(ConfigError, match="CONSUL_CACERT names .*missing.pem"):
        consul_connection(config, store, {"CONSUL_CACERT": str(tmp_path / "missing.pem")})


def test_nomad_over_mutual_tls_with_the_configured_ca_and_certificate(
    mtls_server, pki, tmp_path
) -> None:
    mtls_server.expect_request("/v1/job/mlflow").respond_with_json({"ID": "mlflow"})
    client = nomad_client(tls_environ(mtls_server, pki), tmp_path)
    assert client.connection.cert == (str(pki["client_cert"]), str(pki["client_key"]))
    assert client.job("mlflow") == {"ID": "mlflow"}


def test_settings_in_the_environment_file_reach_the_clients(mtls_server, pki, tmp_path) -> None:
    """nomad.ca_cert / client_cert / client_key (here as OPSCTL_* overrides)."""
    mtls_server.expect_request("/v1/job/mlflow").respond_with_json({"ID": "mlflow"})
    mtls_server.expect_request("/v1/health/service/serving").respond_with_json(
        [], headers={"X-Consul-Index": "7"}
    )
    files = {
        "CA_CERT": pki["ca"],
        "CLIENT_CERT": pki["client_cert"],
        "CLIENT_KEY": pki["client_key"],
    }
    overrides = {
        f"OPSCTL_{section}__{key}": str(path)
        for section in ("NOMAD", "CONSUL")
        for key, path in files.items()
    }
    config = load_environment("staging", REPO / "environments", environ=overrides)
    address = f"https://localhost:{mtls_server.port}"
    environ = {"NOMAD_ADDR": address, "CONSUL_HTTP_ADDR": address}
    store = SecretStore(tmp_path / "s.json", {})
    nomad = NomadClient(nomad_connection(config, store, environ), retry=RetryPolicy(attempts=1))
    assert nomad.job("mlflow") == {"ID": "mlflow"}
    consul = ConsulDiscovery(consul_connection(config, store, environ), kv_prefix="opsctl/staging")
    assert consul.connection.verify == str(pki["ca"])
    assert consul.resolve("serving") == []


def test_without_the_clients_certificate_the_cluster_refuses(mtls_server, pki, tmp_path) -> None:
    mtls_server.expect_request("/v1/job/mlflow").respond_with_json({"ID": "mlflow"})
    environ = tls_environ(mtls_server, pki)
    del environ["NOMAD_CLIENT_CERT"], environ["NOMAD_CLIENT_KEY"]
    with pytest.raises(OpsError, match="Nomad at https://localhost"):
        nomad_client(environ, tmp_path).job("mlflow")


def test_a_server_certificate_from_another_ca_is_refused(mtls_server, pki, tmp_path) -> None:
    mtls_server.expect_request("/v1/job/mlflow").respond_with_json({"ID": "mlflow"})
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    environ = tls_environ(mtls_server, pki, NOMAD_CACERT=str(other))
    with pytest.raises(OpsError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        nomad_client(environ, tmp_path).job("mlflow")
    assert not mtls_server.log  # no request, so no token, was sent
