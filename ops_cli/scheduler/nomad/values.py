"""What each ``${placeholder}`` of a workload spec becomes inside a Nomad job.

Every placeholder name the local scheduler knows (see
:mod:`ops_cli.scheduler.local.workload`) is known here too, with a value that
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
``db.mlflow_uri`` ...           the database URI; its password is a ``secret.``
==============================  ===================================================

A value either has a *plain* form, valid in job fields where Nomad
interpolates ``${...}`` (args, env), or needs a Nomad template. A string that
uses any template-only value is rendered as a whole into a template, so a
secret never appears in the job itself.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from ops_cli.catalog import Catalog, WorkloadSpec
from ops_cli.catalog.placeholders import fill, placeholders_in
from ops_cli.config.models import EnvironmentConfig, StorageConfig
from ops_cli.errors import ConfigError

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
    return Value(text, escape_template(text))


def runtime_env(variable: str, suffix: str = "") -> Value:
    """A variable Nomad sets in the task environment (``NOMAD_PORT_http`` ...)."""
    return Value(f"${{{variable}}}{suffix}", f'{{{{ env "{variable}" }}}}{escape_template(suffix)}')


def service_name(catalog: Catalog, workload: str, label: str) -> str:
    """The Consul service of ``workload``'s port ``label``: the workload's name for
    its main port (the health-checked one), ``<workload>-<label>`` for the others."""
    spec = catalog[workload]
    return workload if label == main_port(spec) else f"{workload}-{label}"


def main_port(spec: WorkloadSpec) -> str | None:
    """The port a workload is known by: its health check's, else its first."""
    if spec.health is not None:
        return spec.health.port
    return next(iter(spec.ports), None)


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
            "db.mlflow_uri": _database_uri(config, "mlflow"),
            "db.prefect_uri": _database_uri(config, "prefect"),
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
        return name in self._values or name.startswith(("secret.", "endpoint.", "address."))

    def _value(self, name: str) -> Value:
        if name in self._values:
            return self._values[name]
        kind, _, rest = name.partition(".")
        if kind == "secret":
            return self._secret(rest)
        workload, _, label = rest.rpartition(".")
        scheme = "http://" if kind == "endpoint" else ""
        return self._service_value(workload, label, scheme)

    def _secret(self, name: str) -> Value:
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
        name = service_name(self._catalog, workload, label)
        go = (
            f'{{{{ range $i, $s := service "{name}" }}}}{{{{ if eq $i 0 }}}}'
            f"{scheme}{{{{ $s.Address }}}}:{{{{ $s.Port }}}}{{{{ end }}}}{{{{ end }}}}"
        )
        return Value(None, go)

    def _build(self, model_alias: str | None) -> dict[str, Value]:
        config, spec = self._config, self._spec
        raw_exec = config.nomad is not None and config.nomad.driver == "raw_exec"
        registry = config.registry
        values = {
            "bind_host": self._bind_host(raw_exec),
            "data_dir": runtime_env("NOMAD_ALLOC_DIR", "/data"),
            "python": constant(sys.executable if raw_exec else "python"),
            "env.name": constant(config.name),
            "storage.region": constant(config.storage.region),
            "registry.model_name": constant(registry.model_name),
            "registry.champion_alias": constant(model_alias or registry.champion_alias),
            "registry.challenger_alias": constant(registry.challenger_alias),
        }
        for label in spec.ports:
            values[f"port.{label}"] = runtime_env(f"NOMAD_PORT_{label}")
        for kind, bucket in config.storage.buckets.model_dump().items():
            values[f"bucket.{kind}"] = constant(bucket)
        if config.storage.kind == "seaweedfs":
            values["storage.endpoint_url"] = self._service_value("storage", "s3", "http://")
        else:
            values["storage.endpoint_url"] = constant(config.storage.endpoint_url or "")
        return values

    def _bind_host(self, raw_exec: bool) -> Value:
        # in a container every interface is the container's own; a raw_exec
        # process shares the host, so it binds the address Nomad gave its port
        label = main_port(self._spec)
        if not raw_exec:
            return constant("0.0.0.0")
        return runtime_env(f"NOMAD_IP_{label}") if label else constant("127.0.0.1")


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


def _database_uri(config: EnvironmentConfig, service: str) -> str:
    """A SQLite file in the job's data directory, or the PostgreSQL database of
    ``service`` with its password as a ``secret.`` placeholder."""
    db = config.database
    if db.kind == "sqlite":
        driver = "sqlite" if service == "mlflow" else "sqlite+aiosqlite"
        return f"{driver}:///${{data_dir}}/{service}.db"
    name = db.mlflow_database if service == "mlflow" else db.prefect_database
    driver = "postgresql" if service == "mlflow" else "postgresql+asyncpg"
    password = f":${{secret.{db.password_secret}}}" if db.password_secret else ""
    query = "" if service == "prefect" else f"?sslmode={db.sslmode}"
    return f"{driver}://{db.user}{password}@{db.host}:{db.port}/{name}{query}"
