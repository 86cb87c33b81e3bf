"""The model registry of one environment, through the MLflow client.

The only module of the release core that talks to MLflow. Copying a version
between two MLflow servers downloads its artifacts from the source and logs
them, byte for byte, as a new logged model in the target, registered under the
same name: the target server owns its copy (its own artifact store), and the
content hash of the artifacts is identical on both sides.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ops_cli.errors import OpsError
from ops_cli.release.hashing import tree_sha256
from ops_cli.service_auth import ServiceCredentials, mlflow_signed_in

# Written by the MLflow client into a downloaded registered model; it names the
# version (which differs between registries), so it is not part of the content.
_CLIENT_META_FILE = "registered_model_meta"
IMPORT_EXPERIMENT = "opsctl-releases"
TAG_ARTIFACT_SHA = "opsctl.artifact_sha256"
TAG_SOURCE = "opsctl.source"
TAG_RELEASE = "opsctl.release_id"
_PROGRESS_BAR_VARIABLE = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
DESCRIPTION_TAGS = ("kind", "family", "data", "data.source", "data.version", "promotion",
                    "promotion.reason", "training.fingerprint", "training.code_version")  # fmt: skip
"""Version tags that say what a model is and was trained on (learned or baseline, the
data's lineage, the gate's reason, the training fingerprint): a promoted copy carries
them, so the target's service and app say the same as the source's, and a run on the
target with the same data, code and settings finds the copy instead of training again."""


@contextmanager
def _tracking(uri: str) -> Iterator[None]:
    """Point MLflow's process-wide URIs at ``uri`` for artifact transfers
    (``mlflow-artifacts:/`` locations resolve against the current tracking URI),
    and keep MLflow's progress bars out of opsctl's output meanwhile.

    On exit MLflow's URIs are as they were, *unset* included: MLflow exports a set
    URI to ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI`` and never removes the
    registry one, so restoring through the getters would pin MLflow's default
    (``sqlite:///mlflow.db`` in the current folder) for every later client and
    child process. The variables are the state: a set URI is always exported.
    """
    import mlflow

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", _PROGRESS_BAR_VARIABLE)
    before = {name: os.environ.get(name) for name in names}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    os.environ[_PROGRESS_BAR_VARIABLE] = "false"
    try:
        yield
    finally:
        # None unsets a URI: MLflow accepts it, its annotations do not say so
        mlflow.set_tracking_uri(before["MLFLOW_TRACKING_URI"])  # type: ignore[arg-type]
        mlflow.set_registry_uri(before["MLFLOW_REGISTRY_URI"])  # type: ignore[arg-type]
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _signed_in(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` signed in to the registry's own server (see
    :func:`ops_cli.service_auth.mlflow_signed_in`): two registries, two sign-ins."""

    @functools.wraps(method)
    def wrapper(self: Registry, *args: Any, **kwargs: Any) -> Any:
        with mlflow_signed_in(self.credentials):
            return method(self, *args, **kwargs)

    return wrapper


class Registry:
    """One MLflow server's registry; every MLflow error becomes an OpsError naming it.
    Each call signs in with ``credentials`` (none: the operator's own variables)."""

    def __init__(self, uri: str, label: str, credentials: ServiceCredentials | None = None) -> None:
        from mlflow import MlflowClient

        self.uri = uri
        self.label = label
        self.credentials = credentials or ServiceCredentials(mlflow_username="")
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _fail(self, what: str, exc: Exception) -> OpsError:
        message = getattr(exc, "message", None) or str(exc)
        return OpsError(f"{self.label} registry ({self.uri}): {what}: {message}")

    @_signed_in
    def version_by_alias(self, name: str, alias: str) -> Any | None:
        """The version ``alias`` points to, or None when the model or alias does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise self._fail(f"reading alias {name}@{alias}", exc) from None

    @_signed_in
    def description_tags(self, name: str, version: str) -> dict[str, str]:
        """The version's :data:`DESCRIPTION_TAGS` that are set."""
        from mlflow.exceptions import MlflowException

        try:
            tags = self.client.get_model_version(name, version).tags or {}
        except MlflowException as exc:
            raise self._fail(f"reading {name} version {version}", exc) from None
        return {key: tags[key] for key in DESCRIPTION_TAGS if key in tags}

    @_signed_in
    def download(self, name: str, version: str, folder: Path) -> Path:
        """Download the version's artifacts into ``folder``; returns the model directory."""
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            with _tracking(self.uri):
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}",
                    dst_path=str(folder),
                    tracking_uri=self.uri,
                    registry_uri=self.uri,
                )
        except (MlflowException, OSError) as exc:
            raise self._fail(f"downloading {name} version {version}", exc) from None
        model_dir = Path(path)
        (model_dir / _CLIENT_META_FILE).unlink(missing_ok=True)
        return model_dir

    def artifact_sha256(self, name: str, version: str) -> str:
        """The content hash of the version's artifacts (see :func:`tree_sha256`)."""
        with tempfile.TemporaryDirectory(prefix="opsctl-model-") as tmp:
            return tree_sha256(self.download(name, version, Path(tmp)))

    @_signed_in
    def find_by_artifact_sha256(self, name: str, digest: str) -> str | None:
        """A version of ``name`` imported with this content hash, if any (newest first)."""
        from mlflow.exceptions import MlflowException

        try:
            versions = self.client.search_model_versions(f"name='{name}'")
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise self._fail(f"searching {name}", exc) from None
        matches = [v for v in versions if v.tags.get(TAG_ARTIFACT_SHA) == digest]
        return max(matches, key=lambda v: int(v.version)).version if matches else None

    @_signed_in
    def import_version(self, name: str, model_dir: Path, tags: dict[str, str]) -> str:
        """Log ``model_dir`` as a new logged model and register it as a new version of
        ``name`` with ``tags``; returns the version."""
        from mlflow.exceptions import MlflowException

        try:
            self._ensure_registered_model(name)
            experiment_id = self._experiment_id(IMPORT_EXPERIMENT)
            with _tracking(self.uri):
                logged = self.client.create_logged_model(experiment_id, name=name, tags=tags)
                self.client.log_model_artifacts(logged.model_id, str(model_dir))
                self.client.finalize_logged_model(logged.model_id, "READY")
                version = self.client.create_model_version(
                    name, source=logged.artifact_location, tags=tags, model_id=logged.model_id
                )
        except MlflowException as exc:
            raise self._fail(f"importing a version of {name}", exc) from None
        return str(version.version)

    @_signed_in
    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` of registered model ``name`` at ``version`` (moving it if it points
        elsewhere; MLflow keeps one version per alias). Raises OpsError naming the model, alias
        and version when MLflow refuses (unknown model or version, not signed in)."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.set_registered_model_alias(name, alias, version)
        except MlflowException as exc:
            raise self._fail(f"moving {name}@{alias} to version {version}", exc) from None

    @_signed_in
    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias``; silent when it does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.delete_registered_model_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise self._fail(f"removing {name}@{alias}", exc) from None

    def _ensure_registered_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found else self.client.create_experiment(name)
