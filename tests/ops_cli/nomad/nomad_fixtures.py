"""Nomad API answers in the documented shapes (HTTP API docs and the Go ``api`` package).

Only fields the adapters read, plus enough of the rest that a shape error
shows. Sources: /v1/job/:id, /v1/job/:id/plan, /v1/job/:id/allocations,
/v1/job/:id/deployment, /v1/job/:id/versions, /v1/jobs (register).
"""

from __future__ import annotations

from typing import Any

DEPLOYMENT_ID = "5456bd7a-9fc0-c0dd-6131-cbee77f57577"


def job(version: int = 3, *, modify_index: int = 52, stable: bool = True, count: int = 2) -> dict:
    return {
        "ID": "mlflow",
        "Name": "mlflow",
        "Namespace": "crm-staging",
        "Type": "service",
        "Status": "running",
        "Stop": False,
        "Stable": stable,
        "Version": version,
        "JobModifyIndex": modify_index,
        "ModifyIndex": modify_index + 3,
        "CreateIndex": 10,
        "SubmitTime": 1_700_000_000_000_000_000,
        "TaskGroups": [
            {
                "Name": "mlflow",
                "Count": count,
                "Tasks": [{"Name": "mlflow", "Config": {"image": f"repo/platform:v{version}"}}],
            }
        ],
    }


def register_answer(modify_index: int = 53) -> dict:
    return {
        "EvalID": "d092fdc0-e1fd-2536-67d8-43af8ca798ac",
        "EvalCreateIndex": modify_index,
        "JobModifyIndex": modify_index,
        "Warnings": "",
        "Index": modify_index,
        "LastContact": 0,
        "KnownLeader": False,
    }


def plan_answer(*, diff_type: str = "Edited", modify_index: int = 52) -> dict[str, Any]:
    return {
        "Annotations": {
            "DesiredTGUpdates": {
                "mlflow": {
                    "Ignore": 1,
                    "Place": 0,
                    "Migrate": 0,
                    "Stop": 0,
                    "InPlaceUpdate": 0,
                    "DestructiveUpdate": 1,
                    "Canary": 1,
                    "Preemptions": 0,
                }
            }
        },
        "CreatedEvals": None,
        "Diff": {
            "Type": diff_type,
            "ID": "mlflow",
            "Fields": None,
            "Objects": None,
            "TaskGroups": [
                {
                    "Name": "mlflow",
                    "Type": diff_type,
                    "Updates": {"canary": 1, "ignore": 1},
                    "Fields": None,
                    "Objects": None,
                    "Tasks": [
                        {
                            "Name": "mlflow",
                            "Type": diff_type,
                            "Annotations": ["forces create/destroy update"],
                            "Fields": [
                                {
                                    "Type": "Edited",
                                    "Name": "Config[image]",
                                    "Old": "repo/platform:v3",
                                    "New": "repo/platform:v4",
                                    "Annotations": None,
                                }
                            ],
                            "Objects": None,
                        }
                    ],
                }
            ],
        },
        "FailedTGAllocs": None,
        "JobModifyIndex": modify_index,
        "NextPeriodicLaunch": "0001-01-01T00:00:00Z",
        "Warnings": "",
    }


def allocation(alloc_id: str, *, version: int = 3, status: str = "running", healthy=True) -> dict:
    return {
        "ID": alloc_id,
        "EvalID": "a9c5effc-2242-51b2-f1fe-054ee11ab189",
        "Name": "mlflow.mlflow[0]",
        "NodeID": "cb1f6030-a220-4f92-57dc-7baaabdc3823",
        "JobID": "mlflow",
        "JobVersion": version,
        "TaskGroup": "mlflow",
        "DesiredStatus": "run",
        "DesiredDescription": "",
        "ClientStatus": status,
        "ClientDescription": "",
        "TaskStates": {"mlflow": {"State": status, "Failed": status == "failed"}},
        "DeploymentStatus": {"Healthy": healthy, "Canary": False, "ModifyIndex": 60},
        "CreateIndex": 55,
        "ModifyIndex": 60,
    }


def deployment(
    *,
    version: int = 3,
    status: str = "successful",
    description: str = "Deployment completed successfully",
    placed: int = 2,
    healthy: int = 2,
    unhealthy: int = 0,
    desired_canaries: int = 0,
    placed_canaries: tuple[str, ...] = (),
    promoted: bool = False,
) -> dict:
    return {
        "ID": DEPLOYMENT_ID,
        "Namespace": "crm-staging",
        "JobID": "mlflow",
        "JobVersion": version,
        "JobModifyIndex": 52,
        "JobCreateIndex": 10,
        "Status": status,
        "StatusDescription": description,
        "TaskGroups": {
            "mlflow": {
                "AutoRevert": True,
                "AutoPromote": False,
                "ProgressDeadline": 600_000_000_000,
                "RequireProgressBy": "2025-01-01T00:10:00Z",
                "Promoted": promoted,
                "PlacedCanaries": list(placed_canaries),
                "DesiredCanaries": desired_canaries,
                "DesiredTotal": 2,
                "PlacedAllocs": placed,
                "HealthyAllocs": healthy,
                "UnhealthyAllocs": unhealthy,
            }
        },
        "CreateIndex": 54,
        "ModifyIndex": 61,
    }


def namespace(name: str = "crm-staging") -> dict:
    """``GET /v1/namespace/:name`` (Nomad's ``api.Namespace``)."""
    return {
        "Name": name,
        "Description": f"opsctl environment '{name.removeprefix('crm-')}'",
        "Quota": "",
        "Meta": None,
        "Capabilities": None,
        "NodePoolConfiguration": None,
        "CreateIndex": 5,
        "ModifyIndex": 5,
    }


DIGEST = "sha256:" + "5e" * 32
DATABASE_HOST = "crm-db.c0ffee123456.eu-west-1.rds.amazonaws.com"
DATABASE_SECRET_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
    "rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-AbCdEf"
)
APPLIED = {
    "OPSCTL_IMAGE__DIGEST": DIGEST,
    "OPSCTL_DATABASE__HOST": DATABASE_HOST,
    "OPSCTL_DATABASE__PASSWORD_SECRET_ARN": DATABASE_SECRET_ARN,
}
"""What a cluster deploy knows once the infrastructure is applied and a release is
pinned: the image digest, the database's address and the secret of its RDS-managed
password (``up`` records the last two from the outputs)."""


def cluster_environ(server: Any) -> dict[str, str]:
    """The variables of an operator whose Nomad and Consul answer at ``server`` (a
    pytest-httpserver), with the deploy's :data:`APPLIED` values and an API key from CI."""
    url = server.url_for("").rstrip("/")
    return {
        "NOMAD_ADDR": url,
        "NOMAD_TOKEN": "tok-from-env",
        "CONSUL_HTTP_ADDR": url,
        "OPSCTL_SECRET_SERVING_API_KEY": "serving-key-from-ci",
        **APPLIED,
    }
