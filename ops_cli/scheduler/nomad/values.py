"""What each ``${placeholder}`` of a workload spec becomes inside a Nomad job.

Every placeholder name the local scheduler knows (see
:mod:`ops_cli.scheduler.local.workload`; the plain settings and the database
URI come from :mod:`ops_cli.scheduler.shared`) is known here too, with a value that
Nomad resolves at run time:

==============================  ===================================================
``port.<label>``                ``${NOMAD_PORT_<label>}``
``bind_host``                   ``0.0.0.0`` (docker); ``${NOMAD_IP_<label>}`` (raw_exec)
``data_dir``                    ``${NOMAD_ALLOC_DIR}/data``
``endpoint.<workload>.<port>``  ``http://address:port`` of the first healthy instance,
                                from Consul (``range service``) in a template
``address.<workload>.<port>``   ``address:port``, likewise
``secret.<name>``               the Nomad Variable ``nomad/jobs/<job>``, item
                                ``<name>`` with ``-`` as ``_`` (``nomadVar``)
``secret?<name>``               likewise; an item the Variable lacks renders empty
``alerts.webhook_url``          the optional ``secret?`` named by
                                ``monitoring.webhook_url_secret``
``db.mlflow_uri`` ...           the database URI; its password is a ``secret.``
``auth.required``               ``true``/``false``
``auth.api_key``                the ``secret.`` holding the service's API key
``resources.cores``             the whole cores the task reserves (Nomad ``cores``),
                                empty for a CPU share in MHz
``metrics.scrape_configs``      Prometheus scrape jobs of the workloads that
                                declare ``metrics``, each reading a target file that
                                a template fills from Consul's catalog
                                (``file_sd_configs``, see ``metrics_targets``)
``telemetry.*``                 constants from the settings (see
``service_auth.*``              :mod:`ops_cli.catalog.config_values`)
==============================  ===================================================

A value either has a *plain* form, valid in job fields where Nomad
interpolates ``${...}`` (args, env), or needs a Nomad template. A string that
uses any template-only value is rendered as a whole into a template, so a
secret never appears in the job itself.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.catalog.placeholders import (
    alerts_context,
    auth_context,
    fill,
    placeholders_in,
    secret_reference,
)
from ops_cli.config.models import EnvironmentConfig, StorageConfig
from ops_cli.errors import ConfigError
from ops_cli.scheduler.shared import constant_values, database_uri, scrape_basic_auth

_SENTINEL = "\x00"
_DELIMS = re.compile(r"(\{\{|\}\})")


@dataclass(frozen=True)
class Value:
    """One placeholder's value: ``plain`` (None when only a template can produce
    it) and its Go template form."""

    plain: str | None
    template: str


@dataclass(frozen=True)
class Rendered:
    """A filled string: plain text for the job, or Go template text."""

    text: str
    needs_template: bool
    uses_secret: bool = False


def escape_template(text: str) -> str:
    """``text`` as literal output of a Go template (``{{``/``}}`` quoted)."""
    return _DELIMS.sub(lambda m: '{{ "' + m.group(1) + '" }}', text)


def constant(text: str) -> Value:
    """A value that is the same text everywhere: ``text`` plain, and quoted for a Go template."""
    return Value(text, escape_template(text))


def runtime_env(variable: str, suffix: str = "") -> Value:
    """A variable Nomad sets in the task environment (``NOMAD_PORT_http`` ...)."""
    return Value(f"${{{variable}}}{suffix}", f'{{{{ env "{variable}" }}}}{escape_template(suffix)}')


def service_name(catalog: Catalog, workload: str, label: str) -> str:
    """The Consul service of ``workload``'s port ``label`` (see ``WorkloadSpec.service_name``)."""
    return catalog[workload].service_name(label)


def main_port(spec: WorkloadSpec) -> str | None:
    """The port a workload is known by: its health check's, else its first."""
    return spec.main_port


def secret_item(name: str) -> str:
    """The Nomad Variable item holding secret ``name`` (templates want identifiers)."""
    return name.replace("-", "_")


class NomadValues:
    """The placeholder values of one job; see the module docstring."""

    def __init__(
        self,
        config: EnvironmentConfig,
        catalog: Catalog,
        spec: WorkloadSpec,
        *,
        model_alias: str | None = None,
    ) -> None:
        self._config = config
        self._catalog = catalog
        self._spec = spec
        self._values = self._build(model_alias)
        self._db = {
            "db.mlflow_uri": database_uri(config, "mlflow", "${data_dir}"),
            "db.prefect_uri": database_uri(config, "prefect", "${data_dir}"),
            **auth_context(config.auth.required, config.auth.api_key_secret),
            **alerts_context(config.monitoring.webhook_url_secret),
        }

    def render(self, text: str, *, where: str, as_template: bool = False) -> Rendered:
        """Fill ``text``, as Go template text when ``as_template`` or when a value
        needs it. Raises :class:`ConfigError` naming ``where`` for an unknown
        placeholder."""
        if any(name in self._db for name in placeholders_in(text)):
            identity = {n: "${" + n + "}" for n in placeholders_in(text)}
            text = fill(text, {**identity, **self._db}, where=where)
        names = placeholders_in(text)
        context = {n: f"{_SENTINEL}{n}{_SENTINEL}" for n in names if self._known(n)}
        parts = fill(text, context, where=where).split(_SENTINEL)
        literals, refs = parts[0::2], [self._value(n) for n in parts[1::2]]
        if not as_template and all(v.plain is not None for v in refs):
            return Rendered(_interleave(literals, [v.plain or "" for v in refs]), False)
        escaped = [escape_template(t) for t in literals]
        secret = any(v.plain is None and "nomadVar" in v.template for v in refs)
        return Rendered(_interleave(escaped, [v.template for v in refs]), True, secret)

    def _known(self, name: str) -> bool:
        known = name.startswith(("endpoint.", "address."))
        return known or name in self._values or secret_reference(name) is not None

    def _value(self, name: str) -> Value:
        if name in self._values:
            return self._values[name]
        reference = secret_reference(name)
        if reference is not None:
            return self._secret(reference[0])
        kind, _, rest = name.partition(".")
        workload, _, label = rest.rpartition(".")
        scheme = "http://" if kind == "endpoint" else ""
        return self._service_value(workload, label, scheme)

    def _secret(self, name: str) -> Value:
        # a missing item of the Variable renders empty: the same template serves
        # the optional form as well as the required one
        if name in _disabled_storage_secrets(self._config):
            return constant("")  # S3 access comes from the instance profile
        path = f"nomad/jobs/{self._spec.name}"
        return Value(
            None, f'{{{{ with nomadVar "{path}" }}}}{{{{ .{secret_item(name)} }}}}{{{{ end }}}}'
        )

    def _service_value(self, workload: str, label: str, scheme: str) -> Value:
        spec = self._catalog[workload]
        if label not in spec.ports:
            raise ConfigError(
                f"workload '{self._spec.name}': unknown port '{label}' of '{workload}'; "
                f"its ports: {sorted(spec.ports)}"
            )
        if workload == self._spec.name:
            # its own address: from the allocation, never from Consul (which knows it
            # only once the task is healthy, and would restart it then)
            return (
                runtime_env(f"NOMAD_ADDR_{label}", "")
                if not scheme
                else Value(
                    f"{scheme}${{NOMAD_ADDR_{label}}}",
                    f'{scheme}{{{{ env "NOMAD_ADDR_{label}" }}}}',
                )
            )
        name = service_name(self._catalog, workload, label)
        # The first instance that is not a canary: a canary of the dependency coming
        # and going never restarts this task, and the order is Consul's (by node), so
        # only losing the chosen instance changes what is rendered.
        go = (
            f'{{{{ $first := "" }}}}{{{{ range service "{name}" }}}}'
            '{{ if and (eq $first "") (not (.Tags | contains "canary")) }}'
            f'{{{{ $first = printf "{scheme}%s:%d" .Address .Port }}}}'
            "{{ end }}{{ end }}{{ $first }}"
        )
        return Value(None, go)

    def _build(self, model_alias: str | None) -> dict[str, Value]:
        config, spec = self._config, self._spec
        raw_exec = config.nomad is not None and config.nomad.driver == "raw_exec"
        constants = constant_values(config, champion_alias=model_alias)
        values = {
            "bind_host": self._bind_host(raw_exec),
            "data_dir": runtime_env("NOMAD_ALLOC_DIR", "/data"),
            "python": constant(sys.executable if raw_exec else "python"),
            **{name: constant(text) for name, text in constants.items()},
            "resources.cores": constant(self._reserved_cores()),
        }
        for label in spec.ports:
            values[f"port.{label}"] = runtime_env(f"NOMAD_PORT_{label}")
        values["metrics.scrape_configs"] = Value(None, self._scrape_configs())
        if config.storage.kind == "seaweedfs":
            values["storage.endpoint_url"] = self._service_value("storage", "s3", "http://")
        else:
            values["storage.endpoint_url"] = constant(config.storage.endpoint_url or "")
        return values

    def _reserved_cores(self) -> str:
        """The whole cores the task reserves (``resources.cores``), empty for a share in MHz."""
        settings = self._config.workloads.get(self._spec.name)
        resources = (settings.resources if settings else None) or self._spec.resources
        return str(resources.cores) if resources.cores else ""

    def _scraped(self) -> dict[str, tuple[str, str]]:
        """``{workload: (metrics path, Consul service)}`` of every enabled workload
        that serves metrics."""
        scraped = {}
        for name in self._config.enabled_workloads():
            metrics = self._catalog[name].metrics
            if metrics is not None:
                scraped[name] = (metrics.path, service_name(self._catalog, name, metrics.port))
        return scraped

    def _scrape_configs(self) -> str:
        """One scrape job per enabled workload that serves metrics, reading its targets
        from a file the job's templates keep up to date (:meth:`metrics_targets`), with the basic
        authentication its endpoint demands."""
        folder = f'{{{{ env "NOMAD_ALLOC_DIR" }}}}/data/{METRICS_TARGETS}'
        jobs = []
        for name, (path, _service) in self._scraped().items():
            auth = scrape_basic_auth(self._config, self._catalog[name])
            signed = f', "basic_auth": {escape_template(json.dumps(auth))}' if auth else ""
            jobs.append(
                f'{{"job_name": "{name}", "metrics_path": "{path}", '
                f'"file_sd_configs": [{{"files": ["{folder}/{name}.json"]}}]{signed}}}'
            )
        return "[" + ", ".join(jobs) + "]"

    def metrics_targets(self) -> dict[str, str]:
        """``{destination: template}`` of the scrape targets of a job whose files use
        ``${metrics.scrape_configs}``: every instance of each service in Consul's catalog,
        healthy or not (a failing one is what ``up == 0`` alerts on), canaries too (they
        serve traffic), as Prometheus's file discovery reads them. Nomad renders them
        with the node agent's catalog; Prometheus needs neither Consul nor a token
        (Debian's Prometheus has no Consul discovery) and re-reads them on change."""
        files = " ".join(f.content for f in self._spec.files)
        if "metrics.scrape_configs" not in placeholders_in(files):
            return {}
        targets = {}
        for name, (_path, service) in self._scraped().items():
            instances = (
                f'{{{{ range $i, $s := service "{service}|any" }}}}{{{{ if $i }}}}, {{{{ end }}}}'
                '"{{ $s.Address }}:{{ $s.Port }}"{{ end }}'
            )
            body = f'[{{"targets": [{instances}], "labels": {{"service": "{name}"}}}}]\n'
            targets[f"${{NOMAD_ALLOC_DIR}}/data/{METRICS_TARGETS}/{name}.json"] = body
        return targets

    def _bind_host(self, raw_exec: bool) -> Value:
        # in a container every interface is the container's own; a raw_exec
        # process shares the host, so it binds the address Nomad gave its port
        label = main_port(self._spec)
        if not raw_exec:
            return constant("0.0.0.0")
        return runtime_env(f"NOMAD_IP_{label}") if label else constant("127.0.0.1")


METRICS_TARGETS = "scrape-targets"
"""The folder (in the job's data directory) of Prometheus's target files."""


def _interleave(literals: list[str], values: list[str]) -> str:
    out = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        out += [value, literal]
    return "".join(out)


def _disabled_storage_secrets(config: EnvironmentConfig) -> set[str]:
    """Storage credential secrets the environment turned off (set to null)."""
    names = set()
    for field in ("access_key_secret", "secret_key_secret"):
        if getattr(config.storage, field) is None:
            names.add(StorageConfig.model_fields[field].default)
    return names
