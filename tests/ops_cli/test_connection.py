"""Shared connection rules: where a cluster token comes from, TLS, CA bundles."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_cli.config.loader import load_environment
from ops_cli.connection import ca_bundle, require_tls, resolve_token
from ops_cli.discovery.consul import consul_connection
from ops_cli.errors import ConfigError
from ops_cli.scheduler.nomad.connection import nomad_connection
from ops_cli.secrets import SecretStore

REPO = Path(__file__).resolve().parents[2]


def test_a_token_names_the_variable_it_came_from(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "s.json", {"OPSCTL_SECRET_CONSUL_TOKEN": "stored"})
    from_variable = resolve_token(
        {"CONSUL_HTTP_TOKEN": "direct"}, "CONSUL_HTTP_TOKEN", store, "consul-token"
    )
    from_store = resolve_token({}, "CONSUL_HTTP_TOKEN", store, "consul-token")
    nowhere = resolve_token({}, "CONSUL_HTTP_TOKEN", SecretStore(tmp_path / "n.json", {}), "x-tok")

    assert (from_variable.value, from_variable.source) == ("direct", "CONSUL_HTTP_TOKEN")
    assert (from_store.value, from_store.source) == ("stored", "OPSCTL_SECRET_CONSUL_TOKEN")
    assert (nowhere.value, nowhere.source) == (None, "CONSUL_HTTP_TOKEN or OPSCTL_SECRET_X_TOK")
    assert "direct" not in repr(from_variable)


def test_both_clients_take_their_ca_and_token_source_from_their_own_variables(
    tmp_path: Path,
) -> None:
    config = load_environment("staging", REPO / "environments", environ={})
    for name in ("nomad-ca.pem", "consul-ca.pem"):
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
    environ = {
        "NOMAD_ADDR": "https://nomad.internal:4646",
        "NOMAD_CACERT": str(tmp_path / "nomad-ca.pem"),
        "CONSUL_HTTP_ADDR": "https://consul.internal:8501",
        "CONSUL_CACERT": str(tmp_path / "consul-ca.pem"),
        "OPSCTL_SECRET_NOMAD_TOKEN": "n-tok",
    }
    store = SecretStore(tmp_path / "s.json", environ)

    nomad = nomad_connection(config, store, environ)
    consul = consul_connection(config, store, environ)

    assert (nomad.verify, nomad.token_source) == (
        str(tmp_path / "nomad-ca.pem"),
        "OPSCTL_SECRET_NOMAD_TOKEN",
    )
    assert (consul.verify, consul.token, consul.token_source) == (
        str(tmp_path / "consul-ca.pem"),
        None,
        "CONSUL_HTTP_TOKEN or OPSCTL_SECRET_CONSUL_TOKEN",
    )
    assert ca_bundle({}, "CONSUL_CACERT") is True


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("http://consul.internal:8500", True),
        ("https://consul.internal:8501", False),
        ("http://127.0.0.1:8500", False),  # a local tunnel never leaves the machine
        ("http://[::1]:8500", False),
    ],
)
def test_tls_is_required_off_the_machine(address: str, refused: bool) -> None:
    if refused:
        with pytest.raises(ConfigError, match="CONSUL_HTTP_ADDR .* requires TLS"):
            require_tls(True, address, "CONSUL_HTTP_ADDR", "staging")
    else:
        require_tls(True, address, "CONSUL_HTTP_ADDR", "staging")
    require_tls(False, address, "CONSUL_HTTP_ADDR", "local")
