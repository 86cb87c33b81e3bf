"""The generator reproduces the dataset's shape, seeded, at any size, with drift and quirks."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data import schema as s
from ml.data.synthetic import GeneratorConfig, generate, generate_csv_files


@pytest.fixture(scope="module")
def pipeline():
    return generate(GeneratorConfig(rows=20_000, seed=1))[s.PIPELINE]


def test_columns_and_reference_tables_match_the_dataset() -> None:
    tables = generate(GeneratorConfig(rows=1000))
    for table in (*s.TABLES, s.DICTIONARY):
        assert tuple(tables[table].columns) == s.COLUMNS[table]
    assert len(tables[s.ACCOUNTS]) == 85 and len(tables[s.PRODUCTS]) == 7
    assert len(tables[s.TEAMS]) == 35 and tables[s.TEAMS]["manager"].nunique() == 6
    offices = tables[s.TEAMS]["regional_office"].value_counts().to_dict()
    assert offices == {"East": 12, "West": 12, "Central": 11}
    assert tables[s.ACCOUNTS]["subsidiary_of"].isna().sum() == 70
    assert tables[s.PIPELINE]["sales_agent"].nunique() == 30
    assert len(tables[s.DICTIONARY]) == 21


def test_class_balance_and_missingness_by_stage(pipeline) -> None:
    shares = pipeline["deal_stage"].value_counts(normalize=True)
    for stage, share in s.STAGE_SHARES.items():
        assert shares[stage] == pytest.approx(share, abs=0.002)
    closed = pipeline[pipeline["deal_stage"].isin(s.CLOSED_STAGES)]
    assert (closed["deal_stage"] == s.WON).mean() == pytest.approx(s.CLOSED_WIN_RATE, abs=0.002)
    open_ = pipeline[pipeline["deal_stage"].isin(s.OPEN_STAGES)]
    assert open_["close_date"].isna().all() and open_["close_value"].isna().all()
    assert closed["account"].notna().all()
    assert pipeline["account"].isna().mean() == pytest.approx(0.162, abs=0.01)
    prospecting = pipeline[pipeline["deal_stage"] == s.PROSPECTING]
    assert prospecting["engage_date"].isna().all()
    assert (closed.loc[closed["deal_stage"] == s.LOST, "close_value"] == 0).all()


def test_date_ranges_and_cycle_lengths(pipeline) -> None:
    assert pipeline["engage_date"].min() >= s.ENGAGE_START
    assert pipeline["engage_date"].max() <= s.ENGAGE_END
    assert pipeline["close_date"].min() >= s.CLOSE_START
    assert pipeline["close_date"].max() <= s.CLOSE_END
    cycle = (pipeline["close_date"] - pipeline["engage_date"]).dt.days.dropna()
    assert cycle.min() >= 1 and cycle.max() <= s.MAX_CYCLE_DAYS
    assert cycle.median() == pytest.approx(s.MEDIAN_CYCLE_DAYS, abs=5)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    one = generate_csv_files(GeneratorConfig(rows=1000, seed=3))
    assert one == generate_csv_files(GeneratorConfig(rows=1000, seed=3))
    assert one != generate_csv_files(GeneratorConfig(rows=1000, seed=4))


def test_ids_are_unique_at_scale() -> None:
    ids = generate(GeneratorConfig(rows=200_000))[s.PIPELINE]["opportunity_id"]
    assert ids.is_unique and ids.str.len().eq(8).all()


def test_quirks_are_optional() -> None:
    quirky = generate(GeneratorConfig(rows=1000, quirks=True))
    clean = generate(GeneratorConfig(rows=1000, quirks=False))
    assert (quirky[s.PIPELINE]["product"] == "GTXPro").any()
    assert not (clean[s.PIPELINE]["product"] == "GTXPro").any()
    assert not (clean[s.ACCOUNTS]["sector"] == "technolgy").any()


def test_drift_shifts_product_mix_and_win_rate() -> None:
    base = generate(GeneratorConfig(rows=20_000, drift=0.0))[s.PIPELINE]
    drifted = generate(GeneratorConfig(rows=20_000, drift=1.0))[s.PIPELINE]
    expensive = ["GTK 500", "GTX Plus Pro", "GTXPro"]
    assert drifted["product"].isin(expensive).mean() > base["product"].isin(expensive).mean() + 0.3

    def win_rate(frame):
        closed = frame[frame["deal_stage"].isin(s.CLOSED_STAGES)]
        return (closed["deal_stage"] == s.WON).mean()

    assert win_rate(drifted) == pytest.approx(win_rate(base) - 0.15, abs=0.005)


def test_too_few_rows_or_bad_drift_is_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        GeneratorConfig(rows=999)
    with pytest.raises(ValueError, match="drift"):
        GeneratorConfig(drift=1.5)


def test_signal_zero_plants_nothing() -> None:
    frame = generate(GeneratorConfig(rows=30_000, signal=0.0))[s.PIPELINE]
    closed = frame[frame["deal_stage"].isin(s.CLOSED_STAGES)]
    rates = closed.groupby("sales_agent")["deal_stage"].apply(lambda x: (x == s.WON).mean())
    assert np.std(rates) < 0.05
