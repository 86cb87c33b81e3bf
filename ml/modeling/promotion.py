"""The promotion gate: like is compared with like.

A challenger becomes champion when it beats every baseline on its out-of-time
evaluation rows by the configured margins and, when there is a champion that
can score those same rows, that champion too. Beating a reference means both:
ROC-AUC higher by more than the AUC margin, and a Brier score lower by at least
the Brier margin.

What the current champion is matters:

- none yet: only the baselines count;
- it cannot score the challenger's rows (agents or products it never saw, or
  hardly any of their accounts: it was trained on other data): it is unfit for
  this data and does not block; only the baselines count;
- it was trained on real data (Kaggle, a folder) and the challenger on generated
  data: the challenger never replaces it, whatever its numbers;
- it was trained on generated data and the challenger on real data: real data
  replaces it as soon as the challenger passes the baselines rule.

When the challenger is not promoted and the champion is not worth keeping on
this data (none, unfit, generated while this data is real, or itself no better
than the baselines on these rows), the decision asks for the best baseline to
be served instead (``serve_baseline``): an honest champion rather than none, or
than one that cannot score the data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ml.modeling.lineage import BASELINE_MESSAGE, describe_source, is_real
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
        """True when the challenger beats the reference on both: AUC gain above its margin (never
        when the AUC is undefined) and Brier gain at least its margin."""
        auc_ok = not math.isnan(self.auc_gain) and self.auc_gain > self.auc_margin
        return auc_ok and self.brier_gain >= self.brier_margin

    def describe(self) -> str:
        """The comparison in words, the gains against the margins they need."""
        return (
            f"{self.reference} (AUC gain {self.auc_gain:+.4f} needs > {self.auc_margin}, "
            f"Brier gain {self.brier_gain:+.4f} needs >= {self.brier_margin})"
        )


@dataclass(frozen=True)
class Incumbent:
    """The current champion as the gate sees it.

    ``metrics`` are its scores on the challenger's evaluation rows (None when it
    cannot score them: ``unfit`` then says why); ``source`` is the source kind
    of the data it was trained on (None when it recorded no lineage).
    """

    version: str
    source: str | None = None
    kind: str = "learned"
    metrics: dict[str, float] | None = None
    unfit: str | None = None


@dataclass
class Decision:
    """Whether to promote, why, and every number behind it."""

    promote: bool
    reason: str
    comparisons: list[Comparison] = field(default_factory=list)
    challenger: dict[str, float] = field(default_factory=dict)
    champion_version: str | None = None
    notes: list[str] = field(default_factory=list)
    serve_baseline: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data: every field, each comparison with its ``beaten``."""
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


def _baseline_comparisons(
    model: dict[str, float], baselines: dict[str, dict[str, float]], margins: PromotionMargins
) -> list[Comparison]:
    return [
        _compare(f"baseline:{name}", model, values,
                 margins.auc_over_baseline, margins.brier_over_baseline)
        for name, values in baselines.items()
    ]  # fmt: skip


def _standing(incumbent: Incumbent | None, real: bool) -> tuple[str, str | None]:
    """How the champion takes part: ``none``, ``protected`` (real, challenger generated),
    ``unfit``, ``replaceable`` (generated, challenger real) or ``compared``; and a note."""
    if incumbent is None:
        return "none", None
    v = f"champion v{incumbent.version}"
    if is_real(incumbent.source) and not real:
        return "protected", (
            f"trained on generated data; {v} was trained on "
            f"{describe_source(incumbent.source)}, and generated data never replaces it"
        )
    if incumbent.unfit:
        return "unfit", f"{v} cannot score these rows ({incumbent.unfit}): unfit, it does not block"
    if real and not is_real(incumbent.source):
        return "replaceable", (
            f"{v} was trained on {describe_source(incumbent.source)}; "
            "real data replaces it when it beats the baselines"
        )
    return "compared", None


def decide(
    challenger: dict[str, float],
    baselines: dict[str, dict[str, float]],
    incumbent: Incumbent | None,
    margins: PromotionMargins,
    *,
    source: str | None = None,
    notes: list[str] | None = None,
) -> Decision:
    """The gate's decision for a challenger trained on data of kind ``source``
    (``ml.modeling.lineage``), with ``challenger`` and ``baselines`` metrics on its
    evaluation rows and the champion as :class:`Incumbent`."""
    notes = list(notes or [])
    comparisons = _baseline_comparisons(challenger, baselines, margins)
    standing, note = _standing(incumbent, is_real(source))
    if note:
        notes.append(note)
    version = incumbent.version if incumbent else None
    if standing == "protected":
        return Decision(False, note or "", comparisons, dict(challenger), version, notes)
    if standing == "compared" and incumbent is not None and incumbent.metrics is not None:
        comparisons.append(
            _compare(f"champion:v{incumbent.version}", challenger, incumbent.metrics,
                     margins.auc_over_champion, margins.brier_over_champion)
        )  # fmt: skip
    lost = [c for c in comparisons if not c.beaten]
    if not lost:
        reason = "beats " + ", ".join(c.reference for c in comparisons) + " by the margins"
        if standing in ("unfit", "replaceable"):
            reason += f"; {note}"
        return Decision(True, reason, comparisons, dict(challenger), version, notes)
    reason = "does not beat " + "; ".join(c.describe() for c in lost)
    keep = (
        standing == "compared"
        and incumbent is not None
        and _worth_keeping(incumbent, baselines, margins)
    )
    if not keep:
        reason = f"{BASELINE_MESSAGE}: the challenger {reason}"
        if note:
            reason += f"; {note}"
    return Decision(False, reason, comparisons, dict(challenger), version, notes, not keep)


def _worth_keeping(
    incumbent: Incumbent, baselines: dict[str, dict[str, float]], margins: PromotionMargins
) -> bool:
    """Whether the champion itself beats every baseline on the challenger's rows."""
    if incumbent.metrics is None:
        return False
    return all(c.beaten for c in _baseline_comparisons(incumbent.metrics, baselines, margins))
