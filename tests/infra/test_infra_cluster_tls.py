"""Nomad and Consul tokens travel over TLS in staging and prod: the agents'
configuration in the cluster's cloud-init templates (Terraform's own files, which
the Pulumi program renders too) and the control endpoint's addresses.

Only the configuration is checked here: no Nomad or Consul binary runs on this
machine, so whether the agents accept it is not verified."""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest
import yaml
from infra_support import CLOUD_ENVIRONMENTS, TERRAFORM, cloud_config, first, parse_dir, unquote

TEMPLATES = TERRAFORM / "modules" / "cluster" / "templates"


def agent_config(role: str, agent: str) -> dict[str, Any]:
    """``/etc/<agent>.d/opsctl.hcl`` of the ``role`` template, parsed (template
    variables filled with placeholders, as ``templatefile`` would)."""
    text = re.sub(r"(?<!\$)\$\{[a-z_]+\}", "1", (TEMPLATES / f"{role}.yaml.tftpl").read_text())
    files = {f["path"]: f["content"] for f in yaml.safe_load(text)["write_files"]}
    return unquote(hcl2.loads(files[f"/etc/{agent}.d/opsctl.hcl"]))


@pytest.mark.parametrize("role", ["server", "client"])
def test_nomad_serves_its_api_and_rpc_over_tls(role: str) -> None:
    tls = first(agent_config(role, "nomad")["tls"])
    assert (tls["http"], tls["rpc"], tls["verify_server_hostname"]) == (True, True, True)
    assert tls["ca_file"] and tls["cert_file"] and tls["key_file"]


def test_consul_servers_answer_https_only() -> None:
    config = agent_config("server", "consul")
    assert first(config["ports"]) == {"http": -1, "https": 8501}
    defaults = first(first(config["tls"])["defaults"])
    assert defaults["verify_incoming"] and defaults["verify_outgoing"]
    assert first(first(config["tls"])["internal_rpc"])["verify_server_hostname"]
    nomad_to_consul = first(agent_config("server", "nomad")["consul"])
    assert (nomad_to_consul["address"], nomad_to_consul["ssl"]) == ("127.0.0.1:8501", True)


def test_a_clients_plain_consul_api_never_leaves_the_machine() -> None:
    config = agent_config("client", "consul")
    assert config["client_addr"] == "127.0.0.1"
    assert first(first(config["tls"])["defaults"])["verify_outgoing"]
    assert first(config["auto_encrypt"])["tls"] is True
    assert first(agent_config("client", "nomad")["consul"])["address"].startswith("127.0.0.1:")


def test_the_control_endpoint_addresses_are_https() -> None:
    outputs = {
        name: body
        for item in parse_dir(TERRAFORM / "modules" / "cluster").get("output", [])
        for name, body in item.items()
    }
    assert outputs["nomad_addr"]["value"].startswith("https://")
    assert outputs["consul_addr"]["value"].startswith("https://")


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_opsctl_refuses_plain_http_to_the_cluster_it_provisions(env: str) -> None:
    config = cloud_config(env)
    assert config.nomad is not None and config.consul is not None
    assert config.nomad.require_tls and config.consul.require_tls
