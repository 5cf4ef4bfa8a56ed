"""Standardised rates and ratios: direct (DSR, Dobson et al. 1991 limits) and indirect (ISR).

The DSR of a group (a council in a year) is the rate its age-specific rates would give in a
standard population: ``sum(w_i * x_i / n_i) / sum(w_i) * multiplier`` over age bands ``i``.
Computed for all groups at once: per-row terms, one ``groupby(...).sum()``, then vectorised limits.

The indirectly standardised ratio (ISR, or SMR) of a group compares its observed events ``O`` with
the events ``E = sum(R_i * n_i)`` expected if the reference population's (England's) age-specific
rates ``R_i`` applied to the group's own population ``n_i`` in each band: ``ISR = O / E`` (times a
reference value, 1 or 100). It needs only the group's *total* events (not events by age), which is
why it is the method of choice when a council's events are published for 65+ only but England's
rates are known by age band (:func:`isr_ci`, :func:`isr_table`).

References
----------
Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991). Confidence intervals for weighted sums of
Poisson parameters. Stat Med 10:457-462. doi:10.1002/sim.4780100317
Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, Vol II. IARC Sci Publ 82.
PHE (2018, updated by OHID). Technical guide: confidence intervals (indirectly standardised
ratios: Byar's method, exact below 10 events). PHEindicatormethods ``calculate_ISRatio``.
Eurostat (2013). Revision of the European Standard Population: report of Eurostat's task force.
Luxembourg: Publications Office of the European Union. doi:10.2785/11470
PHEindicatormethods (R package), ``calculate_dsr`` / ``phe_dsr``: the same method and thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from asc_evidence.stats.intervals import (
    CI,
    POISSON_METHODS,
    ArrayLike,
    Confidence,
    as_arrays,
    check_confidence,
    check_method,
    cl_columns,
    level_label,
    poisson_ci,
)

#: European Standard Population 2013, 5-year bands with 90+ closed (19 bands, total 100,000).
#: Source: Eurostat (2013), Revision of the European Standard Population, Table 3 (ESP 2013);
#: the <1 (1,000) and 1-4 (4,000) bands are summed into 0-4, and 90-94 (800) and 95+ (200) into 90+,
#: as in PHE/OHID's ``esp2013`` (PHEindicatormethods).
ESP_2013 = pd.Series(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
     7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000],
    index=pd.Index(
        ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
         "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"],
        name="age_band",
    ),
    name="esp2013",
    dtype=float,
)  # fmt: skip

FLAG_LOW_COUNT = "total count < {min_count}: DSR not calculated"
FLAG_MISSING = "missing count or population in an age band"


def dobson_ci(
    value: ArrayLike,
    var_value: ArrayLike,
    total_count: ArrayLike,
    confidence: Confidence = 0.95,
    count_method: str = "byar",
) -> CI | dict[float, CI]:
    """Dobson et al. (1991) limits for a weighted sum of Poisson counts, such as a DSR.

    ``lower = value + sqrt(var_value / O) * (O_lower - O)`` and likewise for the upper limit,
    where ``O`` is the total count and ``O_lower``/``O_upper`` its Poisson limits.

    Parameters
    ----------
    value : scalar, array or Series
        The weighted sum (e.g. the DSR, in the units wanted).
    var_value : scalar, array or Series
        Its variance, ``sum(w_i^2 x_i / n_i^2) / sum(w_i)^2`` in the same units squared.
    total_count : scalar, array or Series
        ``O = sum(x_i)``.
    confidence : float or tuple of float
        0.95, 0.998 or a tuple of both.
    count_method : {"byar", "exact"}
        Limits for ``O``: Byar's approximation (as PHE does) or exact Poisson (as Dobson et al.).

    Returns
    -------
    CI or dict of CI
        NaN where ``O`` is 0 (the method is undefined there).

    Notes
    -----
    Assumes the counts are independent Poisson and the populations are known without error. The
    interval scales the Poisson interval of the total count by the ratio of the standard
    deviations, so it is good when the age-specific weights ``w_i / n_i`` are similar, and less
    accurate (coverage below nominal) when a few bands with large weights and few events dominate.
    """
    levels = check_confidence(confidence)
    check_method(count_method, POISSON_METHODS)
    (dsr, var, total), restore = as_arrays(value, var_value, total_count)
    counts = poisson_ci(total, confidence=levels, method=count_method)
    assert isinstance(counts, dict)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, np.sqrt(var / total), np.nan)

    def one(level: float) -> CI:
        lo, hi = (np.asarray(v) for v in counts[level])
        return CI(restore(dsr + scale * (lo - total)), restore(dsr + scale * (hi - total)))

    if isinstance(confidence, tuple | list):
        return {level: one(level) for level in levels}
    return one(levels[0])


def dsr_table(
    df: pd.DataFrame,
    x_col: str,
    n_col: str,
    by: str | Sequence[str],
    age_col: str = "age_band",
    stdpop: str | pd.Series | None = None,
    confidence: Confidence = 0.95,
    multiplier: float = 1e5,
    count_method: str = "byar",
    min_count: int = 10,
) -> pd.DataFrame:
    """Directly standardised rates with Dobson limits, one row per group of ``by``.

    Parameters
    ----------
    df : DataFrame
        One row per group and age band, with event counts ``x_col`` and populations ``n_col``.
    by : str or list of str
        Grouping columns, e.g. ``["council_code", "period"]``.
    age_col : str
        Age band labels; used to look up ``stdpop`` when it is a Series or None.
    stdpop : None, column name or Series
        Standard population: None for :data:`ESP_2013` (labels ``"65-69"``, ..., ``"90+"``), a
        column of ``df``, or a Series indexed by the labels in ``age_col``. Only the bands present
        are used (e.g. 65+ only), so the DSR is standardised to that part of the standard.
    confidence, count_method
        See :func:`dobson_ci`.
    multiplier : float
        Rate per ``multiplier`` people (default 100,000).
    min_count : int
        Groups with fewer events in total get NaN value and limits and a ``flag`` (PHE does not
        publish DSRs for fewer than 10 events because the Dobson limits are unreliable there).

    Returns
    -------
    DataFrame
        ``by`` columns, ``total_count``, ``total_pop``, ``value``, the limits (``lowercl``...),
        ``confidence``, ``statistic``, ``method``, ``flag`` (empty string when plain).

    Notes
    -----
    Every group must have the same set of age bands. A missing count or population in any band
    makes the group's DSR NaN with a flag (PHEindicatormethods instead treats a missing count as
    zero, which would understate the rate). Weaknesses: see :func:`dobson_ci`; a DSR compares
    groups with each other only when all use the same standard population and bands.
    """
    levels = check_confidence(confidence)
    check_method(count_method, POISSON_METHODS)
    by = [by] if isinstance(by, str) else list(by)
    if stdpop is None or isinstance(stdpop, pd.Series):
        table = ESP_2013 if stdpop is None else stdpop
        weights = df[age_col].map(table).to_numpy(dtype=float, na_value=np.nan)
        unknown = sorted(set(df.loc[np.isnan(weights), age_col].astype(str)))
        if unknown:
            msg = (
                f"No standard population weight for age band(s) {unknown}; "
                f"known bands: {list(table.index)}."
            )
            raise ValueError(msg)
    else:
        weights = df[stdpop].to_numpy(dtype=float, na_value=np.nan)
    x = df[x_col].to_numpy(dtype=float, na_value=np.nan)
    n = df[n_col].to_numpy(dtype=float, na_value=np.nan)
    if np.count_nonzero(x < 0) or np.count_nonzero(n <= 0):
        msg = f"{x_col} must be >= 0 and {n_col} > 0 in every age band."
        raise ValueError(msg)

    bands_per_group = df.groupby(by, sort=True, observed=True)[age_col].nunique()
    rows_per_group = df.groupby(by, sort=True, observed=True).size()
    n_bands = df[age_col].nunique()
    if (bands_per_group != n_bands).any() or (rows_per_group != n_bands).any():
        bad = bands_per_group.index[(bands_per_group != n_bands) | (rows_per_group != n_bands)]
        msg = (
            f"Every group must have each of the {n_bands} age bands exactly once; "
            f"{len(bad)} group(s) do not, e.g. {list(bad[:3])}."
        )
        raise ValueError(msg)

    terms = pd.DataFrame(
        {
            "total_count": x,
            "total_pop": n,
            "wx": weights * x / n,
            "w2x": weights**2 * x / n**2,
            "w": weights,
            "missing": np.isnan(x) | np.isnan(n),
        }
    )
    for col in by:
        terms[col] = df[col].to_numpy()
    sums = terms.groupby(by, sort=True, observed=True).sum(min_count=1).reset_index()
    missing = sums.pop("missing").to_numpy() > 0
    w = sums.pop("w").to_numpy(dtype=float)
    value = sums.pop("wx").to_numpy(dtype=float) / w * multiplier
    var = sums.pop("w2x").to_numpy(dtype=float) / w**2 * multiplier**2
    total = sums["total_count"].to_numpy(dtype=float)
    cis = dobson_ci(value, var, total, confidence=levels, count_method=count_method)
    assert isinstance(cis, dict)

    low = ~missing & (total < min_count)
    drop = missing | low
    out = sums
    out["value"] = np.where(drop, np.nan, value)
    for level, (lo_col, hi_col) in cl_columns(confidence).items():
        out[lo_col] = np.where(drop, np.nan, np.asarray(cis[level].lower))
        out[hi_col] = np.where(drop, np.nan, np.asarray(cis[level].upper))
    out["confidence"] = ", ".join(level_label(v) for v in levels)
    out["statistic"] = f"dsr per {multiplier:,.0f}"
    out["method"] = "Dobson" + (" (exact Poisson count)" if count_method == "exact" else "")
    out["flag"] = np.select(
        [missing, low], [FLAG_MISSING, FLAG_LOW_COUNT.format(min_count=min_count)], ""
    )
    return out


# ---------------------------------------------------------------------------------------------
# indirect standardisation

ISR_METHODS = {**POISSON_METHODS, "phe": "Byar (exact Poisson below 10 events)"}
FLAG_NO_EXPECTED = "no expected events (zero or missing population or reference rate)"


def isr_ci(
    observed: ArrayLike,
    expected: ArrayLike,
    confidence: Confidence = 0.95,
    method: str = "exact",
    refvalue: float = 1.0,
) -> CI | dict[float, CI]:
    """Confidence limits of an indirectly standardised ratio ``O / E x refvalue``.

    The Poisson limits of the observed count ``O`` divided by the expected count ``E``, which is
    taken as known (Breslow & Day 1987, section 2.3; PHE's technical guide on confidence
    intervals).

    Parameters
    ----------
    observed, expected : scalar, array or Series
        ``O`` (>= 0; non-integer counts such as average residents are accepted through the
        continuous gamma relation) and ``E`` (> 0), broadcast together.
    confidence : float or tuple of float
        0.95, 0.998, or a tuple of both.
    method : {"exact", "byar", "phe"}
        ``exact``: Garwood's exact Poisson limits (conservative); ``byar``: Byar's approximation;
        ``phe``: Byar with exact limits below 10 events, as PHE/OHID and PHEindicatormethods
        ``calculate_ISRatio`` do.
    refvalue : float
        1 for a ratio, 100 for an SMR-style index.

    Returns
    -------
    CI or dict of CI
        NaN where ``E`` is not positive or either input is missing.

    Notes
    -----
    Assumes ``O`` is Poisson and ignores the sampling error of the reference rates (small when the
    reference is England). Between-area variation beyond Poisson (overdispersion) is not in these
    limits; a funnel with an overdispersion allowance (:mod:`asc_evidence.stats.funnel`,
    ``kind="ratio"``) is the fairer screen across many areas.
    """
    levels = check_confidence(confidence)
    check_method(method, ISR_METHODS)
    (o, e), restore = as_arrays(observed, expected)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    if method == "phe":
        exact = poisson_ci(np.where(ok, o, np.nan), confidence=levels, method="exact")
        byar = poisson_ci(np.where(ok, o, np.nan), confidence=levels, method="byar")
        assert isinstance(exact, dict)
        assert isinstance(byar, dict)
        small = o < 10
        counts = {
            lv: CI(
                np.where(small, exact[lv].lower, byar[lv].lower),
                np.where(small, exact[lv].upper, byar[lv].upper),
            )
            for lv in levels
        }
    else:
        counts = poisson_ci(np.where(ok, o, np.nan), confidence=levels, method=method)
        assert isinstance(counts, dict)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(ok, refvalue / e, np.nan)

    def one(level: float) -> CI:
        lo, hi = (np.asarray(v, dtype=float) for v in counts[level])
        return CI(restore(lo * scale), restore(hi * scale))

    if isinstance(confidence, tuple | list):
        return {level: one(level) for level in levels}
    return one(levels[0])


def isr_table(
    df: pd.DataFrame,
    n_col: str,
    ref_rate: str | pd.Series,
    by: str | Sequence[str],
    observed: str | pd.Series,
    age_col: str = "age_band",
    confidence: Confidence = 0.95,
    method: str = "exact",
    refvalue: float = 1.0,
) -> pd.DataFrame:
    """Indirectly standardised ratios with exact or Byar limits, one row per group of ``by``.

    Parameters
    ----------
    df : DataFrame
        One row per group and age band with the group's population ``n_col``.
    n_col : str
        Population of the group in the band.
    ref_rate : column name or Series
        The reference (England) rate **per person** in each band: a column of ``df``, or a Series
        indexed by the labels in ``age_col`` (e.g. ``{"65-74": 0.002, "75-84": 0.01,
        "85+": 0.06}``).
    by : str or list of str
        Grouping columns, e.g. ``["council_code", "period"]``.
    observed : column name or Series
        The group's total observed events: a column of ``df`` (the band rows' sum is used, so it
        may hold events by band) or a Series indexed by the group key (one value per group, for
        councils whose events are published for the whole age range only).
    confidence, method, refvalue
        See :func:`isr_ci`.

    Returns
    -------
    DataFrame
        ``by`` columns, ``observed``, ``expected`` (``sum(R_i n_i)``), ``value`` (``O / E x
        refvalue``), the limits (``lowercl``/``uppercl``, or ``lower95_0cl``... for several
        levels), ``confidence``, ``statistic``, ``method``, ``flag``.

    Notes
    -----
    The ratio compares the group with the reference *at the group's own age structure*; two
    groups' ISRs are not strictly comparable with each other (each has its own weights), unlike
    DSRs. It is the right tool for "is this council high for its age mix?". A band with a missing
    population or reference rate makes ``E`` NaN with a flag (PHEindicatormethods counts it as 0,
    which would understate ``E``).

    References
    ----------
    Breslow NE, Day NE (1987), Vol II, chapter 2; PHE technical guide: confidence intervals;
    PHEindicatormethods ``calculate_ISRatio``.
    """
    levels = check_confidence(confidence)
    check_method(method, ISR_METHODS)
    by = [by] if isinstance(by, str) else list(by)
    if isinstance(ref_rate, pd.Series):
        rates = df[age_col].map(ref_rate).to_numpy(dtype=float, na_value=np.nan)
        unknown = sorted(set(df.loc[np.isnan(rates), age_col].astype(str)))
        if unknown:
            msg = (
                f"No reference rate for age band(s) {unknown}; the reference covers "
                f"{list(ref_rate.index)}. Give a rate for every band of the population."
            )
            raise ValueError(msg)
    else:
        rates = df[ref_rate].to_numpy(dtype=float, na_value=np.nan)
    n = df[n_col].to_numpy(dtype=float, na_value=np.nan)
    if np.count_nonzero(n < 0) or np.count_nonzero(rates < 0):
        msg = f"{n_col} and the reference rates must be >= 0 in every band."
        raise ValueError(msg)
    terms = pd.DataFrame({"expected": rates * n, "missing": np.isnan(rates) | np.isnan(n)})
    for col in by:
        terms[col] = df[col].to_numpy()
    if isinstance(observed, str):
        terms["observed"] = df[observed].to_numpy(dtype=float, na_value=np.nan)
    out = terms.groupby(by, sort=True, observed=True).sum(min_count=1).reset_index()
    if not isinstance(observed, str):
        key = pd.MultiIndex.from_frame(out[by]) if len(by) > 1 else pd.Index(out[by[0]])
        out["observed"] = observed.reindex(key).to_numpy(dtype=float, na_value=np.nan)
    missing = out.pop("missing").to_numpy() > 0
    e = np.where(missing, np.nan, out["expected"].to_numpy(dtype=float))
    o = out["observed"].to_numpy(dtype=float)
    if np.count_nonzero(o < 0):
        msg = "observed events must be >= 0."
        raise ValueError(msg)
    out["expected"] = e
    out = out[[*by, "observed", "expected"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = np.where(e > 0, o / e * refvalue, np.nan)
    cis = isr_ci(o, e, confidence=levels, method=method, refvalue=refvalue)
    assert isinstance(cis, dict)
    for level, (lo_col, hi_col) in cl_columns(confidence).items():
        out[lo_col] = np.asarray(cis[level].lower)
        out[hi_col] = np.asarray(cis[level].upper)
    out["confidence"] = ", ".join(level_label(v) for v in levels)
    out["statistic"] = f"indirectly standardised ratio x {refvalue:g}"
    out["method"] = ISR_METHODS[method]
    out["flag"] = np.where(~(e > 0), FLAG_NO_EXPECTED, "")
    return out
