"""Consul trusts the workloads' Nomad identities: the first server's bootstrap in
``templates/server.yaml.tftpl`` (rendered as Terraform's ``templatefile`` renders
it) creates the JWT auth method against Nomad's HTTPS JWKS endpoint, a binding rule
for services and one for tasks whose role exists for every namespace the
environments' jobs run in, and gives the agents' token what Nomad needs.

Only the bootstrap's commands are checked here: no Consul or Nomad runs on this
machine, so whether they accept them is not verified."""

from __future__ import annotations

import re
import shlex
from typing import Any

import hcl2
import pytest
import yaml
from infra_support import CLOUD_ENVIRONMENTS, REPO, TERRAFORM, cloud_config, first, unquote
from pulumi_support import load_stack_package

from ops_cli.config import load_environment

TEMPLATES = TERRAFORM / "modules" / "cluster" / "templates"
INIT_SCRIPT = "/usr/local/sbin/opsctl-cluster-init"


def rendered(role: str) -> dict[str, str]:
    """The files cloud-init writes for ``role``, by path: ``${name}`` filled with a
    placeholder and ``$${`` left as a literal ``${``, as ``templatefile`` does."""
    text = (TEMPLATES / f"{role}.yaml.tftpl").read_text(encoding="utf-8")
    text = re.sub(r"\$\$\{|\$\{(\w+)\}", lambda m: "1" if m[1] else "${", text)
    return {f["path"]: f["content"] for f in yaml.safe_load(text)["write_files"]}


def script_lines(role: str) -> list[str]:
    """The bootstrap script's lines, ``$D`` (the TLS folder) expanded."""
    script = rendered(role)[INIT_SCRIPT]
    folder = re.search(r"\bD=(\S+)", script)
    assert folder, "the bootstrap script names its TLS folder (D=...)"
    return [line.strip().replace("$D", folder[1]) for line in script.splitlines()]


def consul_acl(role: str, noun: str) -> list[dict[str, str]]:
    """Every ``consul acl <noun> create`` of the script, as ``{flag: value}``."""
    found = []
    for line in script_lines(role):
        if line.startswith(f"consul acl {noun} create "):
            words = shlex.split(line.split(">", 1)[0])[4:]
            found.append(
                {
                    flag.lstrip("-"): value
                    for flag, value in zip(words[::2], words[1::2], strict=True)
                }
            )
    return found


def printed_file(role: str, path: str) -> str:
    """What the script's ``printf '...' > path`` writes."""
    for line in script_lines(role):
        match = re.match(r"printf '([^']*)' > (\S+)$", line)
        if match and match[2] == path:
            return match[1].replace("\\n", "\n")
    raise AssertionError(f"the bootstrap script writes no {path}")


def rules(text: str) -> dict[tuple[str, str], str]:
    """A Consul ACL policy's ``(resource, name) -> policy``."""
    parsed = unquote(hcl2.loads(text))
    return {
        (kind, name): body["policy"]
        for kind, blocks in parsed.items()
        for block in blocks
        for name, body in block.items()
    }


def auth_method() -> dict[str, Any]:
    methods = consul_acl("server", "auth-method")
    assert [m["name"] for m in methods] == ["nomad-workloads"], (
        "one auth method, the name Nomad's consul.service_auth_method/task_auth_method default to"
    )
    return methods[0]


def test_consul_checks_workload_identities_against_nomads_https_jwks() -> None:
    method = auth_method()
    assert method["type"] == "jwt"
    config_file = method["config"].removeprefix("@")
    writer = next(
        line for line in script_lines("server") if line.startswith("jq ") and config_file in line
    )
    words = shlex.split(writer.split(">", 1)[0])
    ca = words[words.index("--rawfile") + 1 : words.index("--rawfile") + 3]
    assert ca == ["ca", "/etc/opsctl/tls/ca.pem"], "the JWKS endpoint is checked with the CA"
    config = words[-1]
    assert re.search(r'JWKSURL: "https://127\.0\.0\.1:4646/\.well-known/jwks\.json"', config)
    assert "JWKSCACert: $ca" in config
    assert 'BoundAudiences: ["consul.io"]' in config
    nomad = unquote(hcl2.loads(rendered("server")["/etc/nomad.d/opsctl.hcl"]))
    consul = first(nomad["consul"])
    for identity in ("service_identity", "task_identity"):
        assert first(consul[identity])["aud"] == ["consul.io"], identity
    commands = [line for line in script_lines("server") if not line.startswith("#")]
    assert not any("nomad setup consul" in line for line in commands), (
        "nomad setup consul would add a plain-HTTP JWKS auth method of its own"
    )


def test_a_services_identity_may_register_that_service() -> None:
    services = [r for r in consul_acl("server", "binding-rule") if r["bind-type"] == "service"]
    assert len(services) == 1
    assert services[0]["method"] == "nomad-workloads"
    assert services[0]["bind-name"] == "${value.nomad_service}"
    assert services[0]["selector"] == '"nomad_service" in value'


@pytest.mark.parametrize("env", [*CLOUD_ENVIRONMENTS, "nomad-dev"])
def test_a_tasks_identity_gets_a_role_that_exists_in_its_jobs_namespace(env: str) -> None:
    config = (
        cloud_config(env)
        if env in CLOUD_ENVIRONMENTS
        else load_environment(env, REPO / "environments")
    )
    assert config.nomad is not None
    namespace = config.nomad.namespace
    tasks = [r for r in consul_acl("server", "binding-rule") if r["bind-type"] == "role"]
    assert len(tasks) == 1
    assert tasks[0]["method"] == "nomad-workloads"
    assert tasks[0]["selector"] == '"nomad_service" not in value'
    bound = tasks[0]["bind-name"].replace("${value.nomad_namespace}", namespace)
    roles = {r["name"]: r for r in consul_acl("server", "role")}
    assert bound in roles, (
        f"tasks in '{namespace}' are bound to role '{bound}', which is not created"
    )
    policies = {p["name"]: p for p in consul_acl("server", "policy")}
    policy = policies[roles[bound]["policy-name"]]
    granted = rules(printed_file("server", policy["rules"].removeprefix("@")))
    # templates' `range service` read the catalog; a task identity writes nothing
    assert granted[("service_prefix", "")] == "read"
    assert granted[("node_prefix", "")] == "read"
    assert "write" not in granted.values()


def test_the_agents_token_may_register_and_deregister_every_service() -> None:
    policies = {p["name"]: p for p in consul_acl("server", "policy")}
    granted = rules(printed_file("server", policies["opsctl-agent"]["rules"].removeprefix("@")))
    assert granted[("service_prefix", "")] == "write"
    assert granted[("node_prefix", "")] == "write"
    assert granted[("agent_prefix", "")] == "read"


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"


def test_pulumi_renders_the_literal_interpolations_as_terraform_does() -> None:
    """``$${value.nomad_service}`` is Consul's interpolation: both tools hand it over as
    ``${value.nomad_service}``, never as ``$${...}`` (no service could register)."""
    stack = load_stack_package()
    text = stack.cluster.render_template("server", _Placeholders())
    assert "-bind-name '${value.nomad_service}'" in text
    assert "$${" not in text
    files = {f["path"]: f["content"] for f in yaml.safe_load(text)["write_files"]}
    assert files == rendered("server")
