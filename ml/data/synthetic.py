"""A seeded generator of data shaped like the CRM Sales Opportunities dataset.

What it reproduces (see ``ml.data.schema``): the four tables and their columns,
the value domains (7 products in 3 series, 35 agents under 6 managers in 3
offices, 85 accounts in 10 sectors), the stage shares (Won 48.2%, Lost 28.1%,
Engaging 18.1%, Prospecting 5.7%; win rate among closed deals 63.2%), the
missingness by stage (no dates on Prospecting deals, no close date or value on
open deals, ``account`` missing on about 68% of open deals and on no closed
deal), the date ranges (engaged 2016-10-20..2017-12-27, closed
2017-03-01..2017-12-31, cycle 1..138 days with median about 45) and Lost
deals having ``close_value`` 0. Optionally it writes the two quirks of the
original files (``GTXPro`` and ``technolgy``).

Planted signal (for demos; ``signal=0`` removes it). Whether a closed deal is
Won is decided by ranking ``signal * z + logistic noise`` and taking exactly
the Won share, where ``z`` is the sum of three effects known when the deal is
engaged: the sales agent's skill (normal, sd 0.6), the product's effect (from
-0.3 for GTK 500 to +0.3 for MG Special) and the account sector's effect
(normal, sd 0.3; 0 for deals without account). Nothing about close date, close
value or cycle length depends on the outcome except that Lost deals are worth 0.

The sales force: ``agents`` agents (35 by default, as in the dataset; 30 of
every 35 appear in the pipeline) in three offices under six managers, named
from a pool of first and last names, or ``<agent_prefix> 001`` ... when a
prefix is given (other names than the default data's, and any number of them).

Drift (``drift`` in 0..1, for monitoring tests): moves the product mix toward
the expensive products (GTX Plus Pro, GTK 500, GTX Pro) by ``drift``, lowers
the win rate among closed deals by ``0.15 * drift`` and shifts the sector mix
toward the first sectors.

Everything is vectorised numpy: a million rows take a few seconds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data import schema as s

_ALPHABET = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_PRODUCT_WEIGHTS = np.array([1866, 1480, 1651, 1412, 968, 1383, 40], dtype=float)
_PRODUCT_EFFECT = np.array([0.1, -0.1, 0.3, 0.0, -0.2, 0.15, -0.3])
_EXPENSIVE = np.array([0, 1, 0, 0, 1, 0, 1], dtype=float)
_FIRST = (
    "Anna",
    "Boris",
    "Cara",
    "Dario",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Lars",
    "Mona",
    "Nils",
    "Olga",
    "Pavel",
    "Rosa",
    "Sven",
)
_LAST = (
    "Alder",
    "Brook",
    "Crane",
    "Dale",
    "Ember",
    "Frost",
    "Glen",
    "Hale",
    "Irving",
    "Jasper",
    "Knoll",
    "Lowe",
    "Marsh",
    "North",
    "Oakes",
    "Pryor",
)
_SYLLABLES = (
    "Acme",
    "Blue",
    "Cyber",
    "Delta",
    "Echo",
    "Flux",
    "Giga",
    "Hexa",
    "Iso",
    "Jet",
    "Kilo",
    "Lumen",
)
_SUFFIXES = ("corp", "tech", "soft", "labs", "works", "net", "line", "dyne", "gen", "max")
_COUNTRIES = (
    "Philippines",
    "Japan",
    "Italy",
    "Norway",
    "Korea",
    "Jordan",
    "Brazil",
    "Germany",
    "Kenya",
    "Panama",
    "Belgium",
    "China",
    "Poland",
    "Romania",
)
N_ACCOUNTS, N_AGENTS, N_ACTIVE_AGENTS = 85, 35, 30


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: ``rows`` pipeline rows (at least 1,000), reproducible per ``seed``."""

    rows: int = 8800
    seed: int = 42
    signal: float = 1.0
    drift: float = 0.0
    quirks: bool = True
    agents: int = N_AGENTS
    agent_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.rows < 1000:
            raise ValueError(f"rows must be at least 1000, got {self.rows}")
        limit = len(_FIRST) * len(_LAST) - 6 if self.agent_prefix is None else 9999
        if not 3 <= self.agents <= limit:
            raise ValueError(f"agents must be within 3..{limit}, got {self.agents}")
        if not 0.0 <= self.drift <= 1.0:
            raise ValueError(f"drift must be within 0..1, got {self.drift}")


def generate(config: GeneratorConfig) -> dict[str, pd.DataFrame]:
    """The tables of one synthetic dataset, keyed by table name (``ml.data.schema``)."""
    rng = np.random.default_rng(config.seed)
    accounts, sector_codes = _accounts(rng, config)
    teams = _teams(rng, config)
    products = pd.DataFrame(s.PRODUCT_CATALOG, columns=list(s.COLUMNS[s.PRODUCTS]))
    pipeline = _pipeline(rng, config, accounts, sector_codes, teams)
    if config.quirks:
        frames = {s.PIPELINE: pipeline, s.ACCOUNTS: accounts}
        for table, column, quirk, canonical in s.QUIRKS:
            frames[table][column] = frames[table][column].replace(canonical, quirk)
    return {
        s.PIPELINE: pipeline,
        s.ACCOUNTS: accounts,
        s.PRODUCTS: products,
        s.TEAMS: teams,
        s.DICTIONARY: _dictionary(),
    }


def generate_csv_files(config: GeneratorConfig) -> dict[str, bytes]:
    """The synthetic dataset as CSV files (``<table>.csv`` -> bytes), like the originals."""
    files = {}
    for name, frame in generate(config).items():
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, date_format="%Y-%m-%d")
        files[f"{name}.csv"] = buffer.getvalue().encode()
    return files


def _accounts(rng: np.random.Generator, config: GeneratorConfig) -> tuple[pd.DataFrame, np.ndarray]:
    names = np.array([a + b for a in _SYLLABLES for b in _SUFFIXES])
    names = np.sort(rng.choice(names, N_ACCOUNTS, replace=False))
    weights = np.linspace(1.0 + config.drift * 3, 1.0, len(s.SECTORS))
    sectors = rng.choice(len(s.SECTORS), N_ACCOUNTS, p=weights / weights.sum())
    revenue = np.round(np.exp(rng.uniform(np.log(4.54), np.log(11698.03), N_ACCOUNTS)), 2)
    employees = np.exp(rng.uniform(np.log(9), np.log(34288), N_ACCOUNTS)).astype(int)
    abroad = rng.random(N_ACCOUNTS) < 14 / 85
    office = np.where(abroad, rng.choice(_COUNTRIES, N_ACCOUNTS), "United States")
    parent = np.full(N_ACCOUNTS, None, dtype=object)
    children = rng.choice(N_ACCOUNTS, 15, replace=False)
    parent[children] = names[rng.choice(np.setdiff1d(np.arange(N_ACCOUNTS), children), 15)]
    frame = pd.DataFrame(
        {
            "account": names,
            "sector": np.array(s.SECTORS)[sectors],
            "year_established": rng.integers(1979, 2018, N_ACCOUNTS),
            "revenue": revenue,
            "employees": employees,
            "office_location": office,
            "subsidiary_of": parent,
        }
    )
    return frame, sectors


def _active_agents(config: GeneratorConfig) -> int:
    """How many agents appear in the pipeline: 30 of every 35, as in the dataset."""
    return max(2, round(config.agents * N_ACTIVE_AGENTS / N_AGENTS))


def _teams(rng: np.random.Generator, config: GeneratorConfig) -> pd.DataFrame:
    n = config.agents
    people = np.array([f"{a} {b}" for a in _FIRST for b in _LAST])
    chosen = rng.choice(people, (n if config.agent_prefix is None else 0) + 6, replace=False)
    if config.agent_prefix is None:
        agents, managers = chosen[:n], chosen[n:]
    else:
        agents = np.array([f"{config.agent_prefix} {i:03d}" for i in range(1, n + 1)])
        managers = chosen
    # East, West, Central as even as possible, the first offices larger (12, 12, 11 of 35)
    per_office = [n // 3 + (i < n % 3) for i in range(3)]
    office_index = np.repeat([0, 1, 2], per_office)
    manager_index = office_index * 2 + (np.arange(n) % 2)
    return pd.DataFrame(
        {
            "sales_agent": agents,
            "manager": managers[manager_index],
            "regional_office": np.array(s.OFFICES)[office_index],
        }
    )


def _stage_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """0 closed, 2 Engaging, 3 Prospecting, in the dataset's exact shares."""
    shares = np.array([s.STAGE_SHARES[st] for st in s.STAGES])
    counts = np.floor(shares * n).astype(int)
    counts[0] += n - counts.sum()
    codes = np.repeat([0, 0, 2, 3], counts)
    return rng.permutation(codes)


def _pipeline(
    rng: np.random.Generator,
    config: GeneratorConfig,
    accounts: pd.DataFrame,
    sector_codes: np.ndarray,
    teams: pd.DataFrame,
) -> pd.DataFrame:
    n = config.rows
    stage = _stage_codes(rng, n)
    closed, is_open = stage == 0, stage > 0
    active = _active_agents(config)
    agent = rng.choice(active, n, p=rng.dirichlet(np.full(active, 8.0)))
    mix = _PRODUCT_WEIGHTS / _PRODUCT_WEIGHTS.sum()
    mix = (1 - config.drift) * mix + config.drift * _EXPENSIVE / _EXPENSIVE.sum()
    product = rng.choice(len(s.PRODUCT_CATALOG), n, p=mix)
    account = rng.choice(N_ACCOUNTS, n, p=rng.dirichlet(np.full(N_ACCOUNTS, 5.0)))
    account = np.where(is_open & (rng.random(n) < 0.682), -1, account)
    stage = _decide_outcomes(rng, config, stage, agent, product, account, sector_codes)
    engage, close = _dates(rng, stage)
    price = np.array([p[2] for p in s.PRODUCT_CATALOG], dtype=float)[product]
    value = np.clip(np.round(price * rng.lognormal(0.0, 0.25, n)), 38, 30288)
    value = np.where(stage == 1, 0.0, np.where(closed, value, np.nan))
    account_names = np.append(accounts["account"].to_numpy(dtype=object), [None])
    return pd.DataFrame(
        {
            "opportunity_id": _ids(rng, n),
            "sales_agent": teams["sales_agent"].to_numpy()[agent],
            "product": np.array([p[0] for p in s.PRODUCT_CATALOG])[product],
            "account": account_names[account],
            "deal_stage": np.array(s.STAGES)[stage],
            "engage_date": engage,
            "close_date": close,
            "close_value": pd.Series(value).astype("Int64").array,
        }
    )


def _decide_outcomes(
    rng: np.random.Generator,
    config: GeneratorConfig,
    stage: np.ndarray,
    agent: np.ndarray,
    product: np.ndarray,
    account: np.ndarray,
    sector_codes: np.ndarray,
) -> np.ndarray:
    """Won (0) or Lost (1) for closed deals: the top Won share of signal plus noise."""
    skill = rng.normal(0.0, 0.6, _active_agents(config))
    sector_effect = np.append(rng.normal(0.0, 0.3, len(s.SECTORS))[sector_codes], 0.0)
    z = skill[agent] + _PRODUCT_EFFECT[product] + sector_effect[account]
    score = config.signal * z + rng.logistic(0.0, 1.0, len(stage))
    closed = np.flatnonzero(stage == 0)
    n_won = round(len(closed) * (s.CLOSED_WIN_RATE - 0.15 * config.drift))
    ranked = closed[np.argsort(-score[closed], kind="stable")]
    result = stage.copy()
    result[ranked[n_won:]] = 1
    return result


def _dates(rng: np.random.Generator, stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(stage)
    day = np.timedelta64(1, "D")
    close_start, close_end = s.CLOSE_START.to_datetime64(), s.CLOSE_END.to_datetime64()
    engage_start, engage_end = s.ENGAGE_START.to_datetime64(), s.ENGAGE_END.to_datetime64()
    close_span = int((close_end - close_start) / day)
    close = close_start + rng.integers(0, close_span + 1, n) * day
    cycle = np.clip(np.round(rng.gamma(2.2, s.MEDIAN_CYCLE_DAYS / 1.87, n)), 1, s.MAX_CYCLE_DAYS)
    room = ((close - engage_start) / day).astype(int)
    cycle = np.minimum(cycle.astype(int), np.maximum(room, 1))
    cycle = np.maximum(cycle, ((close - engage_end) / day).astype(int))  # engaged by the end
    engage = close - cycle * day
    open_start = np.datetime64("2017-04-01")
    open_span = int((engage_end - open_start) / day)
    open_engage = open_start + rng.integers(0, open_span + 1, n) * day
    closed = stage <= 1
    nat = np.datetime64("NaT", "ns")
    engage = np.where(closed, engage, np.where(stage == 2, open_engage, nat))
    close = np.where(closed, close, nat)
    return engage.astype("datetime64[ns]"), close.astype("datetime64[ns]")


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 8-character ids: a scrambled walk over 36**8 (odd stride, no repeats)."""
    space = 36**8
    stride = 2_654_435_761  # odd and not a multiple of 3: coprime with 36**8
    start = int(rng.integers(0, space))
    numbers = (start + np.arange(n, dtype=np.int64) * stride) % space
    numbers = rng.permutation(numbers)
    digits = np.empty((n, 8), dtype="<U1")
    for position in range(7, -1, -1):
        digits[:, position] = _ALPHABET[numbers % 36]
        numbers //= 36
    return digits.view("<U8").ravel()


def _dictionary() -> pd.DataFrame:
    rows = [(t, c, f"{c} of {t}") for t in s.TABLES for c in s.COLUMNS[t]]
    return pd.DataFrame(rows[:21], columns=list(s.COLUMNS[s.DICTIONARY]))
