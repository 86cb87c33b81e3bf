"""The AWS environment, part for part the design of ``terraform/modules``.

One module per Terraform module (``storage``, ``network``, ``load_balancer``,
``database``, ``cluster``); :func:`build` takes the typed
:class:`~stack.inputs.StackInputs` (the variables opsctl writes for Terraform)
and returns the stack outputs under the names of the Terraform root's outputs.
"""

from __future__ import annotations

from typing import Any

from stack.cluster import build_cluster, cluster_security_groups
from stack.database import build_database
from stack.inputs import StackInputs
from stack.load_balancer import build_load_balancer
from stack.network import build_network
from stack.provider import use_environment_provider
from stack.storage import build_storage

__all__ = ["StackInputs", "build"]


def build(inputs: StackInputs) -> dict[str, Any]:
    """Declare every resource of the environment; returns the stack outputs."""
    use_environment_provider(inputs)
    storage = build_storage(inputs.name, inputs.buckets)
    network = build_network(inputs, storage.kms_key_arn)
    groups = cluster_security_groups(inputs.name, network.vpc.id)
    alb = build_load_balancer(inputs, network, groups.client.id)
    db = build_database(inputs, network, {"client": groups.client.id}, storage.kms_key_arn)
    cluster = build_cluster(inputs, network, groups, storage, db, alb)
    return {
        "nomad_addr": cluster.control.dns_name.apply(lambda d: f"https://{d}:4646"),
        "consul_addr": cluster.control.dns_name.apply(lambda d: f"https://{d}:8501"),
        "bucket_names": {
            **inputs.shared_buckets,
            **{k: b.bucket for k, b in storage.buckets.items()},
        },
        "database_endpoint": db.instance.endpoint,
        "database_secret_arn": db.instance.master_user_secrets[0].secret_arn,
        "alb_dns_name": alb.lb.dns_name,
        "vpc_id": network.vpc.id,
    }
