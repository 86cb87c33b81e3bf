"""A demo replay: generated months after the champion's training period, scored by the
real prediction service, whose deals close over the following months.

Everything here is generated data, never the CRM's, and every output says so.

- **Deals.** Each month holds ``rows`` deals open at its month-end: 90% Engaging, drawn
  from the champion's reference rows (agent, product, account, days open), so a month
  without drift looks like what the model was judged on; 10% Prospecting (no engage
  date, no account). Ids start with the replay's prefix.
- **Drift.** The first month is clean; from the second on, each Engaging deal is moved
  with probability ``drift`` (0..1): its agent to one regional office, its product to
  the expensive ones (GTX Plus Pro, GTK 500, GTX Pro), its account to three accounts,
  and its days open doubled. Drift changes what is scored, not how deals end.
- **Outcomes.** An Engaging deal scored ``p`` is Won with probability ``p`` (the model's
  calibration holds, so estimated performance converges to realised) and closes
  1..138 days after its month-end (gamma, median about 45 days, as in the CRM data).
  Prospecting deals do not close within the replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pandas as pd

from ml.data import schema as s
from ml.snapshots import month_end
from workloads.monitoring.reference import Reference

EXPENSIVE = ("GTX Plus Pro", "GTK 500", "GTX Pro")
PROSPECTING_SHARE = 0.1
BATCH = 500


@dataclass(frozen=True)
class ReplayPlan:
    """What one replay generates: ``months`` (``YYYY-MM``) with ``drift`` per month."""

    replay_id: str
    prefix: str
    months: list[str]
    drifts: list[float]
    rows: int
    seed: int


def plan(
    after_month: str, months: int, drift: float, rows: int, seed: int, now: datetime | None = None
) -> ReplayPlan:
    """The plan of a replay of ``months`` months after ``after_month`` (the champion's
    training month); raises ValueError for months < 1, rows < 50 or drift outside 0..1."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if rows < 50:
        raise ValueError(f"rows per month must be at least 50, got {rows}")
    if not 0.0 <= drift <= 1.0:
        raise ValueError(f"drift must be within 0..1, got {drift}")
    now = now or datetime.now(UTC)
    replay_id = now.strftime("%Y%m%dT%H%M%S")
    start = pd.Period(after_month, freq="M") + 1
    names = [(start + i).strftime("%Y-%m") for i in range(months)]
    return ReplayPlan(
        replay_id=replay_id,
        prefix=f"RPL{replay_id[2:8]}{replay_id[9:15]}-",
        months=names,
        drifts=[0.0] + [drift] * (months - 1),
        rows=rows,
        seed=seed,
    )


def _moved(
    rng: np.random.Generator, frame: pd.DataFrame, reference: Reference, drift: float
) -> pd.DataFrame:
    """Drift applied to a share ``drift`` of ``frame``'s rows (see the module docstring)."""
    move = rng.random(len(frame)) < drift
    offices = reference.lookup.offices
    office = sorted(set(offices.values()))[0]
    agents = sorted(a for a, o in offices.items() if o == office)
    accounts = sorted(reference.rows["account"].dropna().astype(str).unique())[:3]
    expensive = [p for p in EXPENSIVE if p in reference.lookup.series] or list(EXPENSIVE)
    count = int(move.sum())
    frame.loc[move, "sales_agent"] = (
        rng.choice(agents, count) if agents else frame.loc[move, "sales_agent"]
    )
    frame.loc[move, "product"] = rng.choice(expensive, count)
    frame.loc[move, "account"] = rng.choice(accounts, count) if accounts else None
    frame.loc[move, "days_open"] = frame.loc[move, "days_open"] * 2
    return frame


def month_deals(
    replay: ReplayPlan, index: int, reference: Reference, rng: np.random.Generator
) -> pd.DataFrame:
    """The deals of ``replay.months[index]``, open at its month-end, ready to be scored."""
    month, drift = replay.months[index], replay.drifts[index]
    as_of = month_end(month)
    source = reference.rows.dropna(subset=["engage_date"])
    engaging = round(replay.rows * (1 - PROSPECTING_SHARE))
    picked = source.sample(n=engaging, replace=True, random_state=int(rng.integers(2**31)))
    frame = pd.DataFrame(
        {
            "sales_agent": picked["sales_agent"].astype(str).to_numpy(),
            "product": picked["product"].astype(str).to_numpy(),
            "account": picked["account"].to_numpy(dtype=object),
            "days_open": (
                pd.to_datetime(picked["as_of_date"]) - pd.to_datetime(picked["engage_date"])
            ).dt.days.to_numpy(dtype=float),
        }
    )
    frame = _moved(rng, frame, reference, drift)
    frame["deal_stage"] = s.ENGAGING
    frame["engage_date"] = as_of - pd.to_timedelta(frame["days_open"].clip(lower=0), unit="D")
    prospects = source.sample(
        n=replay.rows - engaging, replace=True, random_state=int(rng.integers(2**31))
    )
    frame = pd.concat(
        [
            frame.drop(columns="days_open"),
            pd.DataFrame(
                {
                    "sales_agent": prospects["sales_agent"].astype(str).to_numpy(),
                    "product": prospects["product"].astype(str).to_numpy(),
                    "account": None,
                    "deal_stage": s.PROSPECTING,
                    "engage_date": pd.NaT,
                }
            ),
        ],
        ignore_index=True,
    )
    frame.insert(
        0, "opportunity_id", [f"{replay.prefix}{month}-{i:05d}" for i in range(len(frame))]
    )
    frame["as_of_date"] = as_of
    frame["replay_month"] = month
    return frame


def generate(replay: ReplayPlan, reference: Reference) -> pd.DataFrame:
    """Every month's deals, oldest month first."""
    rng = np.random.default_rng(replay.seed)
    return pd.concat(
        [month_deals(replay, i, reference, rng) for i in range(len(replay.months))],
        ignore_index=True,
    )


def _day(value: Any) -> str | None:
    """The ISO date of a timestamp cell; None for a missing one."""
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _records(part: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for r in part.to_dict("records"):
        rows.append(
            {
                "opportunity_id": r["opportunity_id"],
                "sales_agent": r["sales_agent"],
                "product": r["product"],
                "account": None if pd.isna(r["account"]) else str(r["account"]),
                "deal_stage": r["deal_stage"],
                "engage_date": _day(r["engage_date"]),
                "as_of_date": _day(r["as_of_date"]),
            }
        )
    return rows


class ScoringError(RuntimeError):
    """The prediction service refused the replay's deals or could not be reached."""


def score(serving_url: str, deals: pd.DataFrame, api_key: str | None) -> pd.DataFrame:
    """``deals`` with ``win_probability`` and ``model_version`` from ``POST /predict`` of
    the prediction service (batches of :data:`BATCH`); raises ScoringError."""
    headers = {"X-API-Key": api_key} if api_key else {}
    probabilities, versions = [], []
    with httpx.Client(base_url=serving_url.rstrip("/"), headers=headers, timeout=60) as client:
        for start in range(0, len(deals), BATCH):
            part = deals.iloc[start : start + BATCH]
            try:
                response = client.post("/predict", json={"opportunities": _records(part)})
            except httpx.HTTPError as exc:
                raise ScoringError(f"prediction service at {serving_url}: {exc}") from None
            if response.status_code != 200:
                raise ScoringError(
                    f"prediction service at {serving_url} answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
            body = response.json()
            probabilities += [p["win_probability"] for p in body["predictions"]]
            versions += [body["model"]["version"]] * len(part)
    return deals.assign(win_probability=probabilities, model_version=versions)


def outcomes(scored: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``opportunity_id``, ``won``, ``close_date`` of the scored deals that close: every
    Engaging deal, Won with its probability, closing after its month-end."""
    rng = np.random.default_rng(seed + 1)
    closing = scored[scored["deal_stage"].eq(s.ENGAGING)]
    p = closing["win_probability"].to_numpy(dtype=float)
    days = np.clip(
        np.round(rng.gamma(2.2, s.MEDIAN_CYCLE_DAYS / 1.87, len(closing))), 1, s.MAX_CYCLE_DAYS
    )
    return pd.DataFrame(
        {
            "opportunity_id": closing["opportunity_id"].to_numpy(),
            "won": (rng.random(len(closing)) < p).astype(int),
            "close_date": pd.to_datetime(closing["as_of_date"]).to_numpy()
            + pd.to_timedelta(days, unit="D").to_numpy(),
        }
    )
