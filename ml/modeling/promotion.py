"""The promotion gate: a challenger becomes champion only when it beats the current
champion and every baseline on the same out-of-time data by the configured margins.

Beating a reference means both: ROC-AUC higher by more than the AUC margin, and
a Brier score lower by at least the Brier margin. A missing champion is no
obstacle; a champion that cannot be scored on the data is reported and then
only the baselines count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ml.settings import PromotionMargins


@dataclass(frozen=True)
class Comparison:
    """The challenger against one reference."""

    reference: str
    auc_gain: float
    brier_gain: float
    auc_margin: float
    brier_margin: float

    @property
    def beaten(self) -> bool:
        auc_ok = not math.isnan(self.auc_gain) and self.auc_gain > self.auc_margin
        return auc_ok and self.brier_gain >= self.brier_margin


@dataclass
class Decision:
    """Whether to promote, why, and every number behind it."""

    promote: bool
    reason: str
    comparisons: list[Comparison] = field(default_factory=list)
    challenger: dict[str, float] = field(default_factory=dict)
    champion_version: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["comparisons"] = [{**asdict(c), "beaten": c.beaten} for c in self.comparisons]
        return data


def _compare(name: str, challenger: dict, other: dict, auc: float, brier: float) -> Comparison:
    return Comparison(
        reference=name,
        auc_gain=challenger["roc_auc"] - other["roc_auc"],
        brier_gain=other["brier"] - challenger["brier"],
        auc_margin=auc,
        brier_margin=brier,
    )


def decide(
    challenger: dict[str, float],
    baselines: dict[str, dict[str, float]],
    champion: dict[str, float] | None,
    margins: PromotionMargins,
    *,
    champion_version: str | None = None,
    notes: list[str] | None = None,
) -> Decision:
    """Compare ``challenger`` metrics with each baseline and the champion (if any)."""
    comparisons = [
        _compare(
            f"baseline:{name}",
            challenger,
            values,
            margins.auc_over_baseline,
            margins.brier_over_baseline,
        )
        for name, values in baselines.items()
    ]
    if champion is not None:
        comparisons.append(
            _compare(
                f"champion:v{champion_version}",
                challenger,
                champion,
                margins.auc_over_champion,
                margins.brier_over_champion,
            )
        )
    lost = [c for c in comparisons if not c.beaten]
    if not lost:
        reason = "beats " + ", ".join(c.reference for c in comparisons) + " by the margins"
    else:
        reason = "does not beat " + "; ".join(
            f"{c.reference} (AUC gain {c.auc_gain:+.4f} needs > {c.auc_margin}, "
            f"Brier gain {c.brier_gain:+.4f} needs >= {c.brier_margin})"
            for c in lost
        )
    return Decision(
        not lost, reason, comparisons, dict(challenger), champion_version, list(notes or [])
    )
