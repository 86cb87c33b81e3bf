"""Workload specs as Nomad jobs, in the JSON form of the HTTP API.

Pure functions: the same config, catalog and options always give the same job
(the golden files under ``tests/golden/nomad`` pin it). Only ``service``
workloads become jobs: pipeline work (``batch``/``periodic``) runs as Prefect
flows on the ``prefect-worker`` service job, so no Nomad periodic job exists.
Durations are integers in nanoseconds, as the API wants them.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.config.models import EnvironmentConfig, NomadConfig, Resources, WorkloadSettings
from ops_cli.errors import ConfigError
from ops_cli.scheduler.nomad.database import with_managed_password
from ops_cli.scheduler.nomad.values import NomadValues, service_name
from ops_cli.scheduler.shared import tool_path

Job = dict[str, Any]

NS_PER_S = 1_000_000_000
PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
"""An image reference that ends with its digest (a tag moves; a digest does not)."""
CHECK_RESTART_LIMIT = 3
CHECK_RESTART_GRACE_S = 60.0
EPHEMERAL_DISK_MB = 500
SECRETS_ENV_FILE = "secrets/opsctl.env"
DISCOVERY_ENV_FILE = "local/discovery.env"
# consul-template re-renders after the watched data has been quiet this long (at
# most the max): a burst of instance changes restarts a consumer once, not per change
TEMPLATE_WAIT_S = (5.0, 30.0)
AWAIT_TASK = "await-dependencies"
AWAIT_FILE = "local/ready"


def ns(seconds: float) -> int:
    """``seconds`` as the integer nanoseconds of a Nomad JSON duration."""
    return round(seconds * NS_PER_S)


def cluster_workloads(config: EnvironmentConfig, catalog: Catalog) -> list[str]:
    """The enabled workloads that run as Nomad jobs (services), in file order."""
    return [n for n in config.enabled_workloads() if catalog[n].kind == "service"]


def render_jobs(
    config: EnvironmentConfig, catalog: Catalog, *, platform_tag: str | None = None
) -> dict[str, Job]:
    """Every job of the environment by ID; ``platform_tag`` overrides the tag of
    the platform image (a release), not of workloads that pin their own image."""
    jobs = {}
    for name in cluster_workloads(config, catalog):
        own_image = catalog[name].image.repository is not None
        jobs[name] = render_job(
            config, catalog, name, image_tag=None if own_image else platform_tag
        )
    return jobs


def render_job(
    config: EnvironmentConfig,
    catalog: Catalog,
    name: str,
    *,
    image_tag: str | None = None,
    model_alias: str | None = None,
    namespace: str | None = None,
) -> Job:
    """The Nomad job of workload ``name``.

    ``image_tag`` replaces the image's tag, ``model_alias`` the registry alias
    the workload serves (``${registry.champion_alias}``), ``namespace`` the
    environment's Nomad namespace (``NOMAD_NAMESPACE``). Raises
    :class:`ConfigError` for a workload that is not an enabled service or a
    placeholder Nomad cannot fill.
    """
    nomad = _nomad_section(config)
    spec = catalog[name]
    if name not in cluster_workloads(config, catalog):
        raise ConfigError(
            f"workload '{name}' is not an enabled service of '{config.name}'; "
            f"jobs: {', '.join(cluster_workloads(config, catalog))}"
        )
    settings = config.workloads[name]
    _check_static_ports_fit(config, spec, settings)
    values = NomadValues(config, catalog, spec, model_alias=model_alias)
    image = _image(config, spec, image_tag)
    job: Job = {
        "ID": name,
        "Name": name,
        "Type": "service",
        "Namespace": namespace or nomad.namespace,
        "Datacenters": list(nomad.datacenters),
        "Meta": _meta(config, name, image, model_alias),
        "TaskGroups": [_group(config, catalog, spec, settings, values, image)],
    }
    if nomad.region:
        job["Region"] = nomad.region
    if nomad.node_pool:
        job["NodePool"] = nomad.node_pool
    if nomad.constraints:
        job["Constraints"] = [
            {"LTarget": c.attribute, "Operand": c.operator, "RTarget": c.value}
            for c in nomad.constraints
        ]
    return job


def _check_static_ports_fit(
    config: EnvironmentConfig, spec: WorkloadSpec, settings: WorkloadSettings
) -> None:
    """A workload on a fixed node port needs a node of its own per allocation, canaries
    included; refuse a rollout that could never place its canary."""
    static = [label for label, port in spec.ports.items() if port.lb_port is not None]
    needed = settings.count + spec.update.canary
    if static and config.aws is not None and needed > config.aws.client_count:
        raise ConfigError(
            f"workload '{spec.name}' uses fixed node port(s) {static}: count {settings.count} "
            f"(workloads.{spec.name}.count) + canary {spec.update.canary} "
            f"(workloads/catalog/{spec.name}.yaml update.canary) allocations need {needed} "
            f"clients, one each, but environments/{config.name}.yaml has aws.client_count "
            f"{config.aws.client_count}; raise aws.client_count or lower the count"
        )


def _nomad_section(config: EnvironmentConfig) -> NomadConfig:
    if config.nomad is None:
        raise ConfigError(f"environment '{config.name}' has no 'nomad' section")
    return config.nomad


def _image(config: EnvironmentConfig, spec: WorkloadSpec, tag: str | None) -> str:
    """``repository:tag@sha256:...``; a docker job must pin a digest (a revert to an
    earlier job version then restores the earlier code, not whatever the tag says now).

    ``tag`` (a release's ``tag@digest``) replaces the configured tag and digest.
    Raises :class:`ConfigError` naming the setting when no digest is known.
    """
    own = spec.image.repository is not None
    repository = spec.image.repository or config.image.repository
    default_tag = (spec.image.tag if own else config.image.tag) or config.image.tag
    digest = spec.image.digest if own else config.image.digest
    reference = f"{repository}:{tag or default_tag}"
    if not tag and digest:
        reference = f"{reference}@{digest}"
    if PINNED.search(reference) or _nomad_section(config).driver != "docker":
        return reference
    if tag:
        raise ConfigError(
            f"workload '{spec.name}': the image tag '{tag}' is not pinned by digest; give "
            f"it as TAG@sha256:<64 hex digits> (`--image`), or deploy a release (`opsctl promote`)"
        )
    where = f"workloads/catalog/{spec.name}.yaml image.digest" if own else "image.digest"
    raise ConfigError(
        f"workload '{spec.name}': the image {reference} is not pinned by digest; set "
        f"{where} (or OPSCTL_IMAGE__DIGEST), or deploy a release (`opsctl promote`)"
    )


def _meta(config: EnvironmentConfig, name: str, image: str, alias: str | None) -> dict[str, str]:
    meta = {"opsctl_environment": config.name, "opsctl_workload": name, "opsctl_image": image}
    if alias:
        meta["opsctl_model_alias"] = alias
    return meta


def _group(
    config: EnvironmentConfig,
    catalog: Catalog,
    spec: WorkloadSpec,
    settings: WorkloadSettings,
    values: NomadValues,
    image: str,
) -> dict[str, Any]:
    update = spec.update
    return {
        "Name": spec.name,
        "Count": settings.count,
        "Networks": [_network(spec)],
        "Services": [_service(config, catalog, spec, label) for label in spec.ports],
        "Update": {
            "MaxParallel": update.max_parallel,
            "Canary": update.canary,
            "AutoPromote": update.auto_promote,
            "AutoRevert": update.auto_revert,
            "HealthCheck": "checks",
            "MinHealthyTime": ns(update.min_healthy_time_s),
            "HealthyDeadline": ns(update.healthy_deadline_s),
            "ProgressDeadline": ns(update.progress_deadline_s),
        },
        # Sticky and Migrate carry the data directory over when an allocation is
        # replaced in place (same node, or migrated on a drain). A canary is a new
        # allocation and always starts with an empty disk: nothing may rely on it.
        "EphemeralDisk": {"Sticky": True, "Migrate": True, "SizeMB": EPHEMERAL_DISK_MB},
        "Tasks": [
            *_await_task(catalog, spec, image, config),
            _task(config, spec, settings, values, image),
        ],
    }


def _network(spec: WorkloadSpec) -> dict[str, Any]:
    """Dynamic ports, except those the load balancer reaches on a fixed node port."""
    network: dict[str, Any] = {"Mode": "host"}
    reserved = [
        {"Label": label, "Value": port.lb_port}
        for label, port in spec.ports.items()
        if port.lb_port is not None
    ]
    dynamic = [{"Label": label} for label, port in spec.ports.items() if port.lb_port is None]
    if dynamic:
        network["DynamicPorts"] = dynamic
    if reserved:
        network["ReservedPorts"] = reserved
    return network


def _service(
    config: EnvironmentConfig, catalog: Catalog, spec: WorkloadSpec, label: str
) -> dict[str, Any]:
    tags = [config.name, *(["public"] if spec.ports[label].public else [])]
    service: dict[str, Any] = {
        "Name": service_name(catalog, spec.name, label),
        "Provider": "consul",
        "PortLabel": label,
        "Tags": tags,
        "CanaryTags": [*tags, "canary"],
        "Meta": {"workload": spec.name, "port": label},
    }
    health = spec.health
    if health is not None and health.port == label:
        check: dict[str, Any] = {
            "Name": f"{service['Name']}-health",
            "Type": health.type,
            "Interval": ns(health.interval_s),
            "Timeout": ns(health.timeout_s),
            "CheckRestart": {
                "Limit": CHECK_RESTART_LIMIT,
                "Grace": ns(CHECK_RESTART_GRACE_S),
                "IgnoreWarnings": False,
            },
        }
        if health.type == "http":
            check.update({"Path": health.path, "Protocol": "http"})
        service["Checks"] = [check]
    return service


def _task(
    config: EnvironmentConfig,
    spec: WorkloadSpec,
    settings: WorkloadSettings,
    values: NomadValues,
    image: str,
) -> dict[str, Any]:
    where = f"workload '{spec.name}'"
    env: dict[str, str] = {}
    secret_lines: list[str] = []
    discovery_lines: list[str] = []

    def to_template(key: str, uses_secret: bool, text: str) -> None:
        (secret_lines if uses_secret else discovery_lines).append(f"{key}={text}")

    for key, raw in {**spec.env, **settings.env}.items():
        filled = values.render(raw, where=f"{where} env {key}")
        if filled.needs_template:
            to_template(key, filled.uses_secret, filled.text)
        elif filled.text != "":  # empty means "not set", e.g. no S3 endpoint on AWS
            env[key] = filled.text
    args = []
    for index, raw in enumerate(spec.command):
        filled = values.render(raw, where=f"{where} command")
        if filled.needs_template:
            # Nomad interpolates template-made variables into args
            variable = f"OPSCTL_ARG_{index}"
            to_template(variable, filled.uses_secret, filled.text)
            args.append(f"${{{variable}}}")
        else:
            args.append(filled.text)
    args = with_managed_password(config, spec, args)
    resources = settings.resources or spec.resources
    return {
        "Name": spec.name,
        "Driver": _nomad_section(config).driver,
        "Config": _driver_config(config, spec, image, args),
        "Env": env,
        "Resources": _resources(resources),
        # the catalog's stop timeout; the clients allow up to client.max_kill_timeout
        "KillTimeout": ns(spec.stop_timeout_s),
        "Templates": _templates(spec, values, secret_lines, discovery_lines),
    }


def _resources(resources: Resources) -> dict[str, int]:
    """Nomad's task resources: a CPU share (MHz) or whole cores, and memory (MiB)."""
    if resources.cores:
        return {"Cores": resources.cores, "MemoryMB": resources.memory_mb}
    assert resources.cpu_mhz is not None  # Resources holds one of the two
    return {"CPU": resources.cpu_mhz, "MemoryMB": resources.memory_mb}


def _await_task(
    catalog: Catalog, spec: WorkloadSpec, image: str, config: EnvironmentConfig
) -> list[dict[str, Any]]:
    """A prestart task that holds the main task back until every service it reads
    through a template has a passing, non-canary instance in Consul.

    A template whose ``service`` lookup finds nothing renders an empty value and
    the task would start with it (``MLFLOW_TRACKING_URI=``); the prestart task's
    own template writes ``ready`` only once all of them answer, and the task
    exits when it sees the file. None when the workload reads no other service.
    """
    services = sorted(_services_read(catalog, spec))
    if not services or _nomad_section(config).driver != "docker":
        return []
    checks = " ".join(f'(service "{name}" | len | lt 0)' for name in services)
    body = (
        f"{{{{ if and {checks} }}}}ready{{{{ end }}}}\n"
        if len(services) > 1
        else (f'{{{{ if (service "{services[0]}" | len | lt 0) }}}}ready{{{{ end }}}}\n')
    )
    return [
        {
            "Name": AWAIT_TASK,
            "Driver": "docker",
            "Lifecycle": {"Hook": "prestart", "Sidecar": False},
            "Config": {
                "image": image,
                "command": "sh",
                "args": ["-c", f"until [ -s {AWAIT_FILE} ]; do sleep 2; done"],
            },
            "Resources": {"CPU": 50, "MemoryMB": 32},
            "Templates": [{**_template(body, AWAIT_FILE), "ChangeMode": "noop", "Perms": "0644"}],
        }
    ]


def _services_read(catalog: Catalog, spec: WorkloadSpec) -> set[str]:
    """Consul services of other workloads that ``spec``'s env, command and files read."""
    from ops_cli.catalog.placeholders import placeholders_in

    texts = [*spec.env.values(), *spec.command, *(f.content for f in spec.files)]
    found = set()
    for text in texts:
        for name in placeholders_in(text):
            kind, _, rest = name.partition(".")
            workload, _, label = rest.rpartition(".")
            known = workload in catalog.specs and label in catalog[workload].ports
            if kind in ("endpoint", "address") and workload != spec.name and known:
                found.add(catalog[workload].service_name(label))
    return found


def _driver_config(
    config: EnvironmentConfig, spec: WorkloadSpec, image: str, args: list[str]
) -> dict[str, Any]:
    command, rest = args[0], args[1:]
    if _nomad_section(config).driver == "raw_exec":
        # the dev agent runs our own installation's tools, as the local scheduler does
        return {"command": shutil.which(command, path=tool_path()) or command, "args": rest}
    return {"image": image, "command": command, "args": rest, "ports": list(spec.ports)}


def _templates(
    spec: WorkloadSpec, values: NomadValues, secret_lines: list[str], discovery_lines: list[str]
) -> list[dict[str, Any]]:
    templates = []
    for lines, dest in ((secret_lines, SECRETS_ENV_FILE), (discovery_lines, DISCOVERY_ENV_FILE)):
        if lines:
            templates.append(_template("\n".join(lines) + "\n", dest, envvars=True))
    for file in spec.files:
        body = values.render(
            file.content, where=f"workload '{spec.name}' file {file.path}", as_template=True
        )
        templates.append(
            _template(body.text, f"${{NOMAD_ALLOC_DIR}}/data/{file.path}", perms=file.mode)
        )
    for dest, body_text in values.metrics_targets().items():  # re-read, never a restart
        templates.append({**_template(body_text, dest), "ChangeMode": "noop"})
    return templates


def _template(
    body: str, dest: str, *, envvars: bool = False, perms: str = "0644"
) -> dict[str, Any]:
    return {
        "EmbeddedTmpl": body,
        "DestPath": dest,
        "Envvars": envvars,
        "ChangeMode": "restart",
        "Perms": "0600" if envvars else perms,
        "Wait": {"Min": ns(TEMPLATE_WAIT_S[0]), "Max": ns(TEMPLATE_WAIT_S[1])},
    }
