"""A fitted column encoder (one-hot or ordinal categories, imputed and scaled or
passed-through numbers) turned into table lookups and one affine map per column.

The encoder is probed once: every known category of every categorical column,
an unknown and a missing value, and 0, 1 and NaN for every numeric column.
That is exact for encoders whose output columns each depend on one input
column (the case of the model families in ``ml.modeling.families``);
:func:`compile_encoder` raises :class:`NotSeparable` for any other encoder, and
the scorer then checks the result against the encoder itself on real rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.compose import ColumnTransformer

UNKNOWN = "\x00unknown category\x00"


class NotSeparable(ValueError):
    """The encoder mixes input columns; it cannot be compiled to per-column lookups."""


@dataclass(frozen=True)
class CompiledEncoder:
    """Per-column lookups equal to the probed encoder's ``transform``.

    Numeric column ``j`` lands in output ``outputs[j]`` as ``x * scale + offset``,
    or ``missing`` when ``x`` is NaN.
    """

    base: np.ndarray
    categories: list[tuple[np.ndarray, dict[object, np.ndarray], np.ndarray]]
    outputs: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    missing: np.ndarray

    def transform(self, categorical: Sequence[Sequence[object]], numeric: np.ndarray) -> np.ndarray:
        """Encode ``len(numeric)`` rows: categorical values per column, numbers as a matrix."""
        out = np.repeat(self.base[None, :], len(numeric), axis=0)
        for (columns, table, unknown), values in zip(self.categories, categorical, strict=True):
            out[:, columns] = [table.get(v, unknown) for v in values]
        out[:, self.outputs] = np.where(
            np.isnan(numeric), self.missing, numeric * self.scale + self.offset
        )
        return out


def _categories_of(encoder: ColumnTransformer, column: str) -> list[object]:
    """The fitted categories of ``column`` in the column transformer ``encoder``."""
    for _name, transformer, columns in encoder.transformers_:
        if column in list(columns) and hasattr(transformer, "categories_"):
            return list(transformer.categories_[list(columns).index(column)])
    raise NotSeparable(f"no fitted categories for column {column!r}")


def _changed(reference: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Output columns where any probe row differs from the reference row."""
    same = (probes == reference) | (np.isnan(probes) & np.isnan(reference))
    return np.flatnonzero(~same.all(axis=0))


def compile_encoder(
    encoder: ColumnTransformer, categorical: Sequence[str], numeric: Sequence[str]
) -> CompiledEncoder:
    """Probe the fitted column transformer ``encoder`` (input columns ``categorical``
    then ``numeric``); raises :class:`NotSeparable` when outputs mix columns."""
    names = [*categorical, *numeric]
    reference = {**dict.fromkeys(categorical), **dict.fromkeys(numeric, 0.0)}

    def encode(column: str, values: list[object]) -> np.ndarray:
        frame = pd.DataFrame({k: [v] * len(values) for k, v in reference.items()})[names]
        frame[column] = pd.Series(values, dtype=object if column in categorical else float)
        encoded = encoder.transform(frame)
        # many categories make a one-hot encoder's output sparse; the lookups are dense
        return np.asarray(encoded.toarray() if issparse(encoded) else encoded, dtype=float)

    base = encode(names[0], [None])[0]
    owners: dict[int, str] = {}
    categories = []
    for column in categorical:
        values = [*_categories_of(encoder, column), UNKNOWN, None]
        probes = encode(column, values)
        columns = _claim(owners, column, _changed(base, probes))
        rows = probes[:, columns]
        table = {v: rows[i] for i, v in enumerate(values[:-2])}
        table[None] = rows[-1]
        categories.append((columns, table, rows[-2]))
    numbers = []
    for column in numeric:
        zero, one, missing = encode(column, [0.0, 1.0, float("nan")])
        columns = _claim(owners, column, _changed(base, np.vstack([one, missing])))
        if len(columns) != 1:
            raise NotSeparable(f"numeric column {column!r} feeds {len(columns)} outputs")
        k = int(columns[0])
        numbers.append((k, one[k] - zero[k], zero[k], missing[k]))
    outputs, scale, offset, nan = (np.array(v) for v in zip(*numbers, strict=True))
    return CompiledEncoder(base, categories, outputs.astype(np.intp), scale, offset, nan)


def _claim(owners: dict[int, str], column: str, outputs: np.ndarray) -> np.ndarray:
    for k in outputs:
        if owners.setdefault(int(k), column) != column:
            raise NotSeparable(f"output {k} depends on both {owners[int(k)]!r} and {column!r}")
    return outputs
