"""Walk a pydantic model along a key path to list the keys allowed there."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel


def allowed_keys_at(model: type[BaseModel], path: list[str]) -> list[str]:
    """Field names of the model found at ``path`` (dict keys are skipped over).

    Returns an empty list when the path does not lead to a model.
    """
    current = _unwrap(annotation_at(model, path))
    if get_origin(current) is dict:
        return ["<any name>"]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def annotation_at(model: type[BaseModel], path: list[str]) -> Any:
    """The type the field at ``path`` holds (dict keys are skipped over), or None when
    the path leads nowhere."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    return current


def holds_text(annotation: Any) -> bool:
    """True for a field whose value is text as typed: ``str``, a path, a choice of
    strings, or an optional one of them."""
    annotation = _unwrap(annotation)
    if annotation in (str, Path) or (isinstance(annotation, type) and issubclass(annotation, Path)):
        return True
    if get_origin(annotation) is typing.Literal:
        return all(isinstance(arg, str) for arg in get_args(annotation))
    return False


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; annotated types -> their base."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    return annotation
