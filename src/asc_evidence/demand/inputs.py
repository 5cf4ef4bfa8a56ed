"""Demand projection inputs: constants, rates of long-term support use, unit costs, populations.

The loading half of :mod:`asc_evidence.demand`: each ``*_from_tables`` function takes tidy frames
(testable on small synthetic tables); :func:`service_rates` reads the processed tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from asc_evidence import build
from asc_evidence.common import ENGLAND
from asc_evidence.councils import lineage, lookup
from asc_evidence.stats.projection import rates_from_counts

RATE_BANDS: tuple[str, ...] = ("18-64", "65+")
GROWTH_BANDS: tuple[str, ...] = ("65+", "75+", "85+")
INDEX_BANDS: tuple[str, ...] = ("18-64", "65+", "85+")
CLIENT_MEASURE = "clients_long_term_support_year_end_total"
COST_MEASURE = "gce_long_term_total"
ACTIVITY_PERIOD = "2021-22"
POPULATION_PERIOD = "2021"
PRINCIPAL = "principal"
VARIANTS: dict[str, str] = {
    "npp_ppp": PRINCIPAL,
    "npp_hhh": "high population",
    "npp_lll": "low population",
    "npp_php": "high life expectancy",
    "npp_plp": "low life expectancy",
    "npp_pph": "high migration",
    "npp_ppl": "low migration",
}
BASE_YEAR = 2023
HORIZON = 12

SOURCE_SNPP = (
    "ONS 2018-based subnational population projections; ONS 2018-based national variant projections"
)
SOURCE_RATES = (
    "NHS Digital ASC-FR and SALT data tables 2021-22 (long-term support clients at 31 March 2022, "
    "gross expenditure on long-term support); ONS mid-2021 population estimates"
)
SOURCE_MSOA = "Census 2021 MSOA populations; ONS MSOA 2021 boundaries"
NEED = "adults receiving long-term support"

# project_demand sums male and female rows when every rate has sex "persons"; our populations are
# persons only, so both tables are labelled with this neutral sex value instead.
_SEX = "all"


def _years(period: pd.Series) -> pd.Series:
    return pd.to_numeric(period, errors="raise").astype("int64")


def _persons(tidy_table: pd.DataFrame, period: str, bands: tuple[str, ...]) -> pd.DataFrame:
    sel = tidy_table[
        (tidy_table["period"] == period)
        & (tidy_table["sex"] == "persons")
        & tidy_table["age_band"].isin(bands)
    ]
    return sel[["council_code", "age_band", "value", "flag"]]


# ---------------------------------------------------------------------------------------------
# rates and unit costs


def rate_counts(
    activity: pd.DataFrame,
    population: pd.DataFrame,
    *,
    measure: str = CLIENT_MEASURE,
    period: str = ACTIVITY_PERIOD,
    population_period: str = POPULATION_PERIOD,
) -> dict[tuple[str, str], tuple[float, float, object]]:
    """Users, population and the users' flag by ``(council_code, age_band)`` for :data:`RATE_BANDS`.

    The part of :func:`rates_from_tables` that is the same for every council: read once, then
    :func:`rates_of_councils` picks each council's counts from it.
    """
    counts = activity[
        (activity["measure"] == measure)
        & (activity["period"] == period)
        & activity["age_band"].isin(RATE_BANDS)
    ][["council_code", "age_band", "value", "flag"]]
    pop = _persons(population, population_period, RATE_BANDS)
    both = counts.merge(pop, on=["council_code", "age_band"], suffixes=("_users", "_pop"))
    if both.empty:
        msg = (
            f"No {measure} ({period}) or mid-{population_period} population for bands {RATE_BANDS}."
        )
        raise ValueError(msg)
    cols = ("council_code", "age_band", "value_users", "value_pop", "flag_users")
    out: dict[tuple[str, str], tuple[float, float, object]] = {}
    for code, band, users, pop_, flag in zip(
        *(both[c].to_numpy(dtype=object) for c in cols), strict=True
    ):
        out.setdefault((code, band), (users, pop_, flag))
    return out


def rates_of_councils(
    counts: dict[tuple[str, str], tuple[float, float, object]],
    council_codes: list[str],
    *,
    period: str = ACTIVITY_PERIOD,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`rates_from_tables` of several councils from :func:`rate_counts`, one after another,
    with a first column ``council_code`` (the same rules; one Wilson interval call for all)."""
    rows = []
    for council_code in council_codes:
        for band in RATE_BANDS:
            chosen, why = None, ""
            for code, relation in lineage(council_code):
                if (code, band) not in counts:
                    continue
                users, pop, flag = counts[code, band]
                if pd.notna(users) and pd.notna(pop):
                    own = "England" if code == ENGLAND else "council"
                    chosen = (code, own if relation == "self" else "predecessor")
                    why = (
                        ""
                        if relation == "self"
                        else f"rate of predecessor area {code} ({relation}); no {period} count for {council_code}"
                    )
                    break
                if not why:
                    why = str(flag) if isinstance(flag, str) and flag else "count missing"
            if chosen is None:
                if (ENGLAND, band) not in counts:
                    msg = f"No {band} count for {council_code} and no England row to fall back on."
                    raise ValueError(msg)
                chosen = (ENGLAND, "England")
                why = (
                    f"England rate used: council {band} count missing ({why or 'not in the table'})"
                )
            code, source = chosen
            users, pop, _ = counts[code, band]
            rows.append((council_code, band, users, pop, source, code, why))
    out = pd.DataFrame(
        rows,
        columns=[
            "council_code",
            "age_band",
            "users",
            "population",
            "rate_source",
            "source_code",
            "flag",
        ],
    )
    ci = rates_from_counts(out["users"], out["population"], confidence)
    out = pd.concat(
        [out[["council_code", "age_band"]], ci, out[["rate_source", "source_code", "flag"]]],
        axis=1,
    )
    out.insert(2, "sex", "persons")
    return out


def rates_from_tables(
    activity: pd.DataFrame,
    population: pd.DataFrame,
    council_code: str,
    *,
    measure: str = CLIENT_MEASURE,
    period: str = ACTIVITY_PERIOD,
    population_period: str = POPULATION_PERIOD,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Age-specific rates of long-term support use for a council, from tidy tables.

    Parameters
    ----------
    activity
        Tidy ASC-FR/SALT table (``ascfr_2021_22``) with ``measure`` counts by council and band.
    population
        Tidy population estimates (``population_mye``), persons by council and band.
    council_code
        ONS code of the council (or ``E92000001`` for England).
    measure, period, population_period
        The count (default: clients receiving long-term support at the year end), its financial
        year, and the mid-year of the denominator.
    confidence
        Level of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        One row per band of :data:`RATE_BANDS`: ``age_band, sex, users, population, rate,
        rate_lower, rate_upper, method, rate_source, source_code, flag``. ``rate_source`` is
        ``council``, ``predecessor`` (the area a new council was split or recoded from) or
        ``England`` (no count published for the council: England's rate, never zero).
    """
    counts = rate_counts(
        activity, population, measure=measure, period=period, population_period=population_period
    )
    out = rates_of_councils(counts, [council_code], period=period, confidence=confidence)
    return out.drop(columns="council_code")


def costs_per_client(
    activity: pd.DataFrame, *, period: str = ACTIVITY_PERIOD
) -> dict[tuple[str, str], float]:
    """Finite, positive GBP per client by ``(council_code, age_band)``: the part of
    :func:`unit_costs_from_table` that is the same for every council (see there)."""
    sel = activity[
        (activity["period"] == period)
        & activity["measure"].isin([COST_MEASURE, CLIENT_MEASURE])
        & activity["age_band"].isin(RATE_BANDS)
    ]
    wide = sel.pivot_table(
        index=["council_code", "age_band"], columns="measure", values="value", dropna=False
    ).reindex(columns=[COST_MEASURE, CLIENT_MEASURE])
    per_client = (wide[COST_MEASURE] * 1000 / wide[CLIENT_MEASURE]).rename("unit_cost")
    per_client = per_client[np.isfinite(per_client) & (per_client > 0)]
    return {key: float(v) for key, v in per_client.items()}


def unit_costs_of_councils(
    per_client: dict[tuple[str, str], float],
    council_codes: list[str],
    *,
    period: str = ACTIVITY_PERIOD,
) -> pd.DataFrame:
    """:func:`unit_costs_from_table` of several councils from :func:`costs_per_client`, one after
    another, with a first column ``council_code``."""
    rows = []
    for council_code in council_codes:
        chain = [code for code, _ in lineage(council_code)]
        for band in RATE_BANDS:
            code = next((c for c in [*chain, ENGLAND] if (c, band) in per_client), None)
            if code is None:
                msg = f"No {band} {COST_MEASURE} / {CLIENT_MEASURE} for {council_code} or England ({period})."
                raise ValueError(msg)
            if code == council_code:
                source, flag = ("England" if code == ENGLAND else "council"), ""
            elif code == ENGLAND:
                source = "England"
                flag = (
                    f"England cost per client used: council {period} expenditure or count missing"
                )
            else:
                source = "predecessor"
                flag = f"cost per client of predecessor area {code}"
            rows.append((council_code, band, per_client[code, band], source, code, flag))
    return pd.DataFrame(
        rows,
        columns=["council_code", "age_band", "unit_cost", "cost_source", "source_code", "flag"],
    )


def unit_costs_from_table(
    activity: pd.DataFrame,
    council_code: str,
    *,
    period: str = ACTIVITY_PERIOD,
) -> pd.DataFrame:
    """Gross current expenditure on long-term support per client at the year end, by age band.

    ``cost = gce_long_term_total (GBP thousand) x 1000 / clients_long_term_support_year_end_total``
    for 18-64 and 65+ in ``period``. A council created after ``period`` takes its predecessor's
    figure (as for rates); where both are missing, England's is used. Either is flagged.

    Returns
    -------
    pandas.DataFrame
        ``age_band, unit_cost`` (GBP per client per year, ``period`` prices), ``cost_source,
        source_code, flag``.
    """
    per_client = costs_per_client(activity, period=period)
    out = unit_costs_of_councils(per_client, [council_code], period=period)
    return out.drop(columns="council_code")


def service_rates(council_code: str, confidence: float = 0.95) -> pd.DataFrame:
    """Rates of long-term support use, 18-64 and 65+, for a council (see :func:`rates_from_tables`).

    Reads ``ascfr_2021_22`` and ``population_mye``. Only two age bands exist in the council-level
    SALT data: the projection therefore captures the growth of the 18-64 and 65+ populations, and
    85+ growth is reported alongside as the key driver (see :func:`growth_table`).
    """
    code = lookup(council_code).code if council_code != ENGLAND else ENGLAND
    return rates_from_tables(
        build.load("ascfr_2021_22"), build.load("population_mye"), code, confidence=confidence
    )


# ---------------------------------------------------------------------------------------------
# population with variants


def snpp_frame(snpp: pd.DataFrame, codes: list[str], bands: tuple[str, ...]) -> pd.DataFrame:
    """Tidy SNPP -> ``area_code, year, age_band, sex, population`` for ``codes`` and ``bands``."""
    sel = snpp[snpp["council_code"].isin(codes) & snpp["age_band"].isin(bands)]
    missing = sorted(set(codes) - set(sel["council_code"]))
    if missing:
        msg = f"The population projection has no rows for {missing}."
        raise ValueError(msg)
    return pd.DataFrame(
        {
            "area_code": sel["council_code"].astype(str).to_numpy(),
            "year": _years(sel["period"]).to_numpy(),
            "age_band": sel["age_band"].astype(str).to_numpy(),
            "sex": "persons",
            "population": sel["value"].to_numpy(dtype="float64"),
        }
    )


def variant_ratios(npp: pd.DataFrame) -> pd.DataFrame:
    """England variant / principal population by year and age band (persons).

    Returns ``year, age_band, variant, ratio`` with ``variant`` named as in :data:`VARIANTS`
    (``principal`` has ratio 1).
    """
    sel = npp[(npp["sex"] == "persons") & npp["measure"].isin(VARIANTS)]
    wide = sel.assign(year=_years(sel["period"])).pivot_table(
        index=["year", "age_band"], columns="measure", values="value"
    )
    if "npp_ppp" not in wide.columns:
        msg = "The national projection table lacks the principal projection (npp_ppp)."
        raise ValueError(msg)
    ratios = wide.div(wide["npp_ppp"], axis=0).rename(columns=VARIANTS)
    ratios.columns.name = "variant"
    return ratios.stack().rename("ratio").reset_index()


def apply_variants(pop: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Each variant's population: ``pop x ratio(year, age_band, variant)`` (from :func:`variant_ratios`).

    The England ratio of a variant to the principal projection is applied proportionally to every
    area's principal projection in the same year and age band. Raises if a year/band has no ratio.
    """
    out = pop.merge(ratios, on=["year", "age_band"], how="left")
    if out["ratio"].isna().any():
        bad = out.loc[out["ratio"].isna(), ["year", "age_band"]].drop_duplicates()
        msg = f"No variant ratio for (year, age band) {bad.to_numpy().tolist()[:5]}."
        raise ValueError(msg)
    out["population"] = out["population"] * out["ratio"]
    return out.drop(columns="ratio")
