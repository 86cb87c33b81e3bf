"""The training fingerprint: what identifies a model before it is trained.

Training is deterministic given its inputs (seeded splits, search and fits), so
two runs on the same inputs produce the same model. The inputs are:

- the data: the raw data version (the content hash of the raw files,
  ``ml.data.acquire``) and the month whose processed tables are trained on;
- the code: a hash of this ``ml`` package's source files, and the versions of
  the libraries that fit the model (:data:`LIBRARIES`);
- the settings: every field of :class:`~ml.settings.TrainingSettings`.

The fingerprint is the SHA-256 of these as canonical JSON. It is recorded as
the tag ``training.fingerprint`` (and the code hash as ``training.code_version``)
on the training run and its model versions, so a run can find a version
trained on the same inputs in the registry and reuse it instead of training
again. The promotion margins and the registry's names are not inputs: they
decide what the gate does with a model, not the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ml.settings import TrainingSettings

FINGERPRINT_TAG = "training.fingerprint"
CODE_VERSION_TAG = "training.code_version"
LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy")
"""The libraries whose version changes what a fit produces."""

_PACKAGE = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 (hex) of the ``ml`` package's ``.py`` files, each by its path inside
    the package and its bytes; compiled files and caches do not count."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint_inputs(data_version: str, month: str, settings: TrainingSettings) -> dict[str, Any]:
    """What the fingerprint of a training on raw ``data_version`` at ``month`` hashes."""
    return {
        "data_version": data_version,
        "month": month,
        "code_version": code_version(),
        "libraries": {name: version(name) for name in LIBRARIES},
        "training": dataclasses.asdict(settings),
    }


def training_fingerprint(data_version: str, month: str, settings: TrainingSettings) -> str:
    """SHA-256 (hex) of :func:`fingerprint_inputs` as canonical JSON."""
    inputs = fingerprint_inputs(data_version, month, settings)
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def fingerprint_tags(fingerprint: str) -> dict[str, str]:
    """The tags that record ``fingerprint`` on a run or a model version."""
    return {FINGERPRINT_TAG: fingerprint, CODE_VERSION_TAG: code_version()}
