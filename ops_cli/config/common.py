"""The pieces every config model shares: the strict base and the constrained names."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
"""The name of a secret (lowercase, digits, dashes), never its value."""

DNSName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
