"""Nomad's own rules for a JSON job, as its API structs and job validation state them.

Field names and types follow the ``api`` package (``api/jobs.go``, ``tasks.go``,
``services.go``); the rules follow ``nomad/structs`` validation
(``UpdateStrategy.Validate``, ``ServiceCheck.validate``, ``Service.Validate``,
``Constraint.Validate``, ``EphemeralDisk.Validate``, ``Template.Validate``) and
``../shared/reference/nomad-consul-api.md``. :func:`violations` lists every
breach of a job; an empty list means Nomad would accept it as far as these
documented rules go.
"""

from __future__ import annotations

import re
from typing import Any

NS = 1_000_000_000
SERVICE_NAME = re.compile(r"^(?i:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$")
PORT_LABEL = re.compile(r"^[A-Za-z0-9_]+$")

FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "Job": {
        "ID": str,
        "Name": str,
        "Type": str,
        "Namespace": str,
        "Region": str,
        "Datacenters": list,
        "NodePool": str,
        "Constraints": list,
        "Meta": dict,
        "TaskGroups": list,
        "Update": dict,
    },
    "TaskGroup": {
        "Name": str,
        "Count": int,
        "Networks": list,
        "Services": list,
        "Tasks": list,
        "Update": dict,
        "EphemeralDisk": dict,
        "RestartPolicy": dict,
        "Constraints": list,
    },
    "Update": {
        "MaxParallel": int,
        "Canary": int,
        "AutoPromote": bool,
        "AutoRevert": bool,
        "HealthCheck": str,
        "MinHealthyTime": int,
        "HealthyDeadline": int,
        "ProgressDeadline": int,
        "Stagger": int,
    },
    "Network": {"Mode": str, "DynamicPorts": list, "ReservedPorts": list},
    "Port": {"Label": str, "Value": int, "To": int},
    "Service": {
        "Name": str,
        "Provider": str,
        "PortLabel": str,
        "Tags": list,
        "CanaryTags": list,
        "Meta": dict,
        "Checks": list,
    },
    "Check": {
        "Name": str,
        "Type": str,
        "Path": str,
        "Protocol": str,
        "Interval": int,
        "Timeout": int,
        "CheckRestart": dict,
    },
    "CheckRestart": {"Limit": int, "Grace": int, "IgnoreWarnings": bool},
    "EphemeralDisk": {"Sticky": bool, "Migrate": bool, "SizeMB": int},
    "Task": {
        "Name": str,
        "Driver": str,
        "Config": dict,
        "Env": dict,
        "Resources": dict,
        "Templates": list,
        "KillTimeout": int,
        "Lifecycle": dict,
    },
    "Resources": {"CPU": int, "Cores": int, "MemoryMB": int},
    "Lifecycle": {"Hook": str, "Sidecar": bool},
    "Template": {
        "EmbeddedTmpl": str,
        "DestPath": str,
        "Envvars": bool,
        "ChangeMode": str,
        "Perms": str,
        "Wait": dict,
    },
    "Wait": {"Min": int, "Max": int},
    "Constraint": {"LTarget": str, "Operand": str, "RTarget": str},
}
CONSTRAINT_OPERANDS = {
    "=",
    "==",
    "is",
    "!=",
    "not",
    ">",
    ">=",
    "<",
    "<=",
    "regexp",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "version",
    "semver",
    "is_set",
    "is_not_set",
    "distinct_hosts",
    "distinct_property",
}
MAX_KILL_TIMEOUT_NS = 15 * 60 * NS  # client.max_kill_timeout in the cluster templates
LOG_FILES_MB = 10 * 10  # the default logs block: 10 files of 10 MB


def _shape(kind: str, obj: Any, where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: {kind} must be an object"]
    problems = []
    for key, value in obj.items():
        expected = FIELDS[kind].get(key)
        if expected is None:
            problems.append(f"{where}: {kind} has no field {key!r}")
        elif (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
            problems.append(f"{where}.{key}: {type(value).__name__}, Nomad wants {expected}")
    return problems


def _update(update: dict[str, Any], where: str) -> list[str]:
    problems = _shape("Update", update, where)
    if update.get("HealthCheck") not in ("checks", "task_states", "manual"):
        problems.append(f"{where}.HealthCheck: not checks, task_states or manual")
    if update.get("AutoPromote") and not update.get("Canary"):
        problems.append(f"{where}: AutoPromote needs Canary > 0")
    if update.get("MaxParallel", 1) < 0:
        problems.append(f"{where}.MaxParallel: below zero")
    minimum, healthy = update.get("MinHealthyTime", 0), update.get("HealthyDeadline", 0)
    progress = update.get("ProgressDeadline", 0)
    if healthy <= 0 or minimum >= healthy:
        problems.append(f"{where}: MinHealthyTime must be below HealthyDeadline (> 0)")
    if progress and healthy >= progress:
        problems.append(f"{where}: HealthyDeadline must be below ProgressDeadline")
    return problems


def _service(service: dict[str, Any], labels: set[str], where: str) -> list[str]:
    problems = _shape("Service", service, where)
    if not SERVICE_NAME.match(service.get("Name", "")):
        problems.append(f"{where}.Name: {service.get('Name')!r} is not an RFC 1123 name")
    if service.get("Provider") not in ("consul", "nomad"):
        problems.append(f"{where}.Provider: consul or nomad")
    if service.get("PortLabel") not in labels:
        problems.append(f"{where}.PortLabel: {service.get('PortLabel')!r} is no port of the group")
    for i, check in enumerate(service.get("Checks") or []):
        at = f"{where}.Checks[{i}]"
        problems += _shape("Check", check, at)
        problems += _shape("CheckRestart", check.get("CheckRestart", {}), f"{at}.CheckRestart")
        if check.get("Type") not in ("http", "tcp", "script", "grpc"):
            problems.append(f"{at}.Type: unknown check type")
        if check.get("Interval", 0) < NS or check.get("Timeout", 0) < NS:
            problems.append(f"{at}: Interval and Timeout must be at least 1s")
        if check.get("Type") == "http" and not str(check.get("Path", "")).startswith("/"):
            problems.append(f"{at}.Path: an http check needs a relative path")
    return problems


def _task(task: dict[str, Any], where: str) -> list[str]:
    problems = _shape("Task", task, where)
    resources = task.get("Resources", {})
    problems += _shape("Resources", resources, f"{where}.Resources")
    if "CPU" in resources and "Cores" in resources:  # Nomad's Resources.Validate
        problems.append(f"{where}.Resources: cpu or cores, not both")
    if "Lifecycle" in task:
        problems += _shape("Lifecycle", task["Lifecycle"], f"{where}.Lifecycle")
        if task["Lifecycle"].get("Hook") not in ("prestart", "poststart", "poststop"):
            problems.append(f"{where}.Lifecycle.Hook: prestart, poststart or poststop")
    kill = task.get("KillTimeout", 0)
    if isinstance(kill, int) and not 0 <= kill <= MAX_KILL_TIMEOUT_NS:
        problems.append(f"{where}.KillTimeout: above the clients' max_kill_timeout")
    if task.get("Driver") == "docker" and "@sha256:" not in task.get("Config", {}).get("image", ""):
        problems.append(f"{where}.Config.image: not pinned by digest")
    for i, template in enumerate(task.get("Templates") or []):
        at = f"{where}.Templates[{i}]"
        problems += _shape("Template", template, at)
        problems += _shape("Wait", template.get("Wait", {}), f"{at}.Wait")
        mode = template.get("ChangeMode")
        if mode not in ("noop", "restart", "signal", "script"):
            problems.append(f"{at}.ChangeMode: noop, restart, signal or script")
        if template.get("Envvars") and mode == "signal":
            problems.append(f"{at}: an env template cannot use ChangeMode signal")
        if not template.get("DestPath"):
            problems.append(f"{at}.DestPath: required")
    return problems


def _group(group: dict[str, Any], where: str) -> list[str]:
    problems = _shape("TaskGroup", group, where)
    labels: set[str] = set()
    for n, network in enumerate(group.get("Networks") or []):
        problems += _shape("Network", network, f"{where}.Networks[{n}]")
        for kind in ("DynamicPorts", "ReservedPorts"):
            for port in network.get(kind) or []:
                problems += _shape("Port", port, f"{where}.Networks[{n}].{kind}")
                if not PORT_LABEL.match(port.get("Label", "")):
                    problems.append(f"{where}: port label {port.get('Label')!r} is invalid")
                labels.add(port.get("Label", ""))
    problems += _update(group.get("Update", {}), f"{where}.Update")
    disk = group.get("EphemeralDisk", {})
    problems += _shape("EphemeralDisk", disk, f"{where}.EphemeralDisk")
    if disk and disk.get("SizeMB", 0) <= LOG_FILES_MB:
        problems.append(f"{where}.EphemeralDisk.SizeMB: not larger than the task logs")
    for i, service in enumerate(group.get("Services") or []):
        problems += _service(service, labels, f"{where}.Services[{i}]")
    tasks = group.get("Tasks") or []
    if not [t for t in tasks if "Lifecycle" not in t]:
        problems.append(f"{where}: a group needs a main task")
    for i, task in enumerate(tasks):
        problems += _task(task, f"{where}.Tasks[{i}]")
    return problems


def violations(job: dict[str, Any]) -> list[str]:
    """Every rule ``job`` (the ``Job`` object of ``POST /v1/jobs``) breaks."""
    where = f"job {job.get('ID')!r}"
    problems = _shape("Job", job, where)
    if job.get("Type") not in ("service", "batch", "system", "sysbatch"):
        problems.append(f"{where}.Type: unknown job type")
    for i, constraint in enumerate(job.get("Constraints") or []):
        problems += _shape("Constraint", constraint, f"{where}.Constraints[{i}]")
        if constraint.get("Operand") not in CONSTRAINT_OPERANDS:
            problems.append(f"{where}.Constraints[{i}].Operand: unknown")
    for i, group in enumerate(job.get("TaskGroups") or []):
        problems += _group(group, f"{where}.TaskGroups[{i}]")
    return problems
