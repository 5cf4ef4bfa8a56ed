"""National findings for think tanks: patterns across all councils, each with its method and interval.

What notebook ``07_national_findings.ipynb`` shows, as functions returning display tables (plain
column names, rounded, deterministic) and captioned figures:

* :func:`council_frame`: one row per council with its headline values and its profile
  (deprivation, age, rurality) for one period per indicator;
* :func:`correlations`: Spearman's rank correlation of each indicator with each characteristic,
  with a 95% interval on Fisher's z scale using Bonett and Wright's (2000) standard error
  ``sqrt((1 + r^2 / 2) / (n - 3))`` for Spearman's coefficient;
* :func:`regressions`: each indicator on all characteristics at once (ordinary least squares,
  characteristics standardised to one standard deviation, HC3 heteroscedasticity-robust 95%
  intervals: MacKinnon and White 1985), to separate deprivation from age and rurality;
* :func:`overdispersion`: for every indicator with counts and every year, how much of the spread
  between councils is more than chance: the funnel's winsorised phi (Spiegelhalter 2005), its
  chi-square test, tau2, and ``I^2 = (Q - df) / Q`` with ``Q = n phi`` and Higgins and Thompson's
  (2002) interval from the standard error of ``ln H``;
* :func:`fees_against_costs`: what councils paid independent (later external) providers against
  their own in-house unit cost, from 2008-09: medians with distribution-free 95% intervals
  (order statistics, Conover 1999) and the share paying less than their own cost (Wilson).

Assumptions and weaknesses
--------------------------
These are associations between councils, not causes, and ecological: a council's deprivation says
nothing about the people it admits. Each council counts once and only with its own figure
(figures inherited from a predecessor area or summed from predecessors are left out, so no area
counts twice); characteristics are for today's councils (Census 2021, IMD 2019), applied to every
year. Most ASCOF counts are approximated from published rates, which does not affect rank
correlations or regressions of the values. Fees and unit costs are as councils reported them;
in-house unit costs include outliers (medians are used). Intervals are not corrected for the many
comparisons made: about 1 in 20 intervals excluding 0 could do so by chance.

References
----------
.. [1] Bonett, D. G. and Wright, T. A. (2000). Sample size requirements for estimating Pearson,
   Kendall and Spearman correlations. *Psychometrika* 65(1), 23-28. doi:10.1007/BF02294183
.. [2] MacKinnon, J. G. and White, H. (1985). Some heteroskedasticity-consistent covariance
   matrix estimators with improved finite sample properties. *J. Econometrics* 29, 305-325.
.. [3] Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
   *Quality and Safety in Health Care* 14, 347-351.
.. [4] Higgins, J. P. T. and Thompson, S. G. (2002). Quantifying heterogeneity in a
   meta-analysis. *Statistics in Medicine* 21, 1539-1558. doi:10.1002/sim.1186
.. [5] Conover, W. J. (1999). *Practical Nonparametric Statistics*, 3rd ed. Wiley. Section 3.2
   (confidence interval for a quantile).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from scipy import stats

from asc_evidence import charts, compare, indicators, national, verdict
from asc_evidence.indicators import HEADLINE, INDICATORS
from asc_evidence.profile import short_title

#: Council characteristics (``council_profile`` columns) and their plain names.
CHARACTERISTICS: dict[str, str] = {
    "imd_average_score": "Deprivation (IMD 2019 average score)",
    "share_65plus": "Share aged 65+",
    "share_85plus": "Share aged 85+",
    "density_per_km2": "Population density (log)",
    "sparsity": "Sparsity (rurality)",
}
#: Characteristics of the joint regression (85+ left out: it moves with 65+).
REGRESSORS = ("imd_average_score", "share_65plus", "density_per_km2", "sparsity")
#: Indicators studied (the headline ones but nursing fees, which move with residential fees).
OUTCOMES: tuple[str, ...] = tuple(k for k in HEADLINE if k != "fee_nursing_65_week")
#: Geographies that are a council's own figure (not a predecessor's, not a sum of predecessors).
OWN_FIGURE = ("current", "recoded")
PROFILE_SOURCE = "ONS Census 2021 and mid-year estimates; MHCLG English Indices of Deprivation 2019"


def _sources(keys) -> str:
    """The indicators' source lines, each part once (they share ONS and ASCOF parts)."""
    parts = [part.strip() for k in keys for part in INDICATORS[k].source.split(";")]
    return "; ".join(dict.fromkeys(parts))


def periods(year: str | None = None, keys: tuple[str, ...] = OUTCOMES) -> dict[str, str]:
    """The period used for each indicator: ``year`` where it has figures, else its latest."""
    return {k: national.national_period(k, year or None) for k in keys}


def start(year: str = "") -> pd.DataFrame:
    """Deterministic display settings for the findings notebook, then :func:`council_frame`."""
    from asc_evidence.notebook import inline_figures

    inline_figures()
    charts.setup()
    pd.set_option("display.max_rows", 80)
    pd.set_option("display.max_colwidth", None)
    return council_frame(year or None)


def council_frame(year: str | None = None, keys: tuple[str, ...] = OUTCOMES) -> pd.DataFrame:
    """One row per current council: its characteristics (:data:`CHARACTERISTICS`, shares in %,
    density logged) and one column per indicator key (its own figure in :func:`periods`).

    ``attrs["periods"]`` holds the period of each indicator. Councils without their own figure
    for an indicator have NaN there (see the module notes).
    """
    from asc_evidence.build import load

    prof = load("council_profile").set_index("council_code")
    out = prof[["council_name", "region", "type", *CHARACTERISTICS]].copy()
    for col in ("share_65plus", "share_85plus"):
        out[col] = 100 * out[col]
    out["density_per_km2"] = np.log10(out["density_per_km2"])
    used = periods(year, keys)
    for key, period in used.items():
        t = indicators.get(key)
        own = t[(t["period"] == period) & (t["level"] == "council")]
        if "geography" in own:
            own = own[own["geography"].isin(OWN_FIGURE)]
        out[key] = own.drop_duplicates("council_code").set_index("council_code")["value"]
    out.attrs["periods"] = used
    return out.sort_index()


# ---------------------------------------------------------------------------------------------
# correlations and regressions


def spearman_ci(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for Spearman's rho on Fisher's z scale with Bonett and Wright's (2000) standard
    error ``sqrt((1 + rho^2 / 2) / (n - 3))``; NaN when ``n < 4``."""
    if n < 4 or not np.isfinite(rho) or abs(rho) >= 1:
        return np.nan, np.nan
    z = np.arctanh(rho)
    se = np.sqrt((1 + rho**2 / 2) / (n - 3))
    q = stats.norm.ppf(0.5 + confidence / 2)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))


def _reading(lo: float, hi: float, char: str) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "too few councils"
    if lo > 0:
        return f"higher where {char} is higher"
    if hi < 0:
        return f"lower where {char} is higher"
    return "no clear association"


_SHORT_CHAR = {
    "imd_average_score": "deprivation",
    "share_65plus": "the share aged 65+",
    "share_85plus": "the share aged 85+",
    "density_per_km2": "density",
    "sparsity": "sparsity",
}


def correlation_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho of every indicator with every characteristic, as numbers: ``indicator,
    characteristic, n, rho, lower, upper, p_value`` (see :func:`correlations` for display)."""
    rows = []
    for key in [k for k in frame.attrs["periods"] if k in frame]:
        for char in CHARACTERISTICS:
            pair = frame[[key, char]].dropna()
            n = len(pair)
            rho, p = stats.spearmanr(pair[key], pair[char]) if n >= 4 else (np.nan, np.nan)
            lo, hi = spearman_ci(float(rho), n)
            rows.append(
                {"indicator": key, "characteristic": char, "n": n, "rho": float(rho),
                 "lower": lo, "upper": hi, "p_value": float(p)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def correlations(frame: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`correlation_numbers`: ``Indicator``, ``Period``, ``Council
    characteristic``, ``Councils``, ``Spearman correlation``, 95% interval, ``p-value`` and a
    ``Reading`` in words (an association only where the interval excludes 0)."""
    num = correlation_numbers(frame)
    per = frame.attrs["periods"]
    out = pd.DataFrame(
        {
            "Indicator": num["indicator"].map(short_title),
            "Period": num["indicator"].map(per),
            "Council characteristic": num["characteristic"].map(CHARACTERISTICS),
            "Councils": num["n"],
            "Spearman correlation": num["rho"],
            compare.CI_LOWER: num["lower"],
            compare.CI_UPPER: num["upper"],
            "p-value": ["<0.001" if x < 0.001 else compare.number(x, 3) for x in num["p_value"]],
            "Reading": [
                _reading(lo, hi, _SHORT_CHAR[c])
                for lo, hi, c in zip(num["lower"], num["upper"], num["characteristic"], strict=True)
            ],
        }
    )
    shown = compare.for_display(
        out.set_index(["Indicator", "Council characteristic"]),
        decimals={"Spearman correlation": 2, compare.CI_LOWER: 2, compare.CI_UPPER: 2},
    )  # fmt: skip
    shown.attrs["notes"] = [
        "Spearman's rank correlation between councils; 95% interval on Fisher's z scale with "
        "Bonett and Wright's (2000) standard error. Not corrected for multiple comparisons.",
        "Each council counts once, with its own figure only (inherited predecessor figures "
        "left out).",
    ]
    return shown


def claims(frame: pd.DataFrame, top: int = 8) -> str:
    """The clearest associations in words (Markdown bullets), each with its method and interval:
    those whose 95% interval excludes 0, strongest first, at most ``top``."""
    num = correlation_numbers(frame)
    clear = num[(num["lower"] > 0) | (num["upper"] < 0)].copy()
    clear = clear.reindex(clear["rho"].abs().sort_values(ascending=False).index).head(top)
    per = frame.attrs["periods"]
    lines = []
    for r in clear.itertuples():
        direction = "higher" if r.rho > 0 else "lower"
        lines.append(
            f"- {short_title(r.indicator)} ({per[r.indicator]}) is {direction} where "
            f"{_SHORT_CHAR[r.characteristic]} is higher: Spearman correlation "
            f"{compare.number(r.rho, 2)} (95% CI {compare.number(r.lower, 2)} to "
            f"{compare.number(r.upper, 2)}; {r.n} councils)."
        )
    rest = len(num) - len(clear)
    lines.append(
        f"- The other {rest} pairs of indicator and characteristic show a weaker association or "
        "none whose 95% interval excludes 0 (see the table)."
    )
    return "\n".join(lines)


def regression_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Each indicator on :data:`REGRESSORS` jointly (OLS, each characteristic standardised to
    mean 0 and SD 1, HC3 intervals): ``indicator, characteristic, n, r2, slope, lower, upper,
    p_value``; slope = change in the indicator per SD of the characteristic, others held fixed."""
    import statsmodels.api as sm

    rows = []
    for key in [k for k in frame.attrs["periods"] if k in frame]:
        data = frame[[key, *REGRESSORS]].dropna()
        if len(data) < len(REGRESSORS) + 5:
            continue
        x = (data[list(REGRESSORS)] - data[list(REGRESSORS)].mean()) / data[list(REGRESSORS)].std()
        fit = sm.OLS(data[key], sm.add_constant(x)).fit(cov_type="HC3")
        ci = fit.conf_int(0.05)
        for char in REGRESSORS:
            rows.append(
                {"indicator": key, "characteristic": char, "n": int(fit.nobs),
                 "r2": float(fit.rsquared), "slope": float(fit.params[char]),
                 "lower": float(ci.loc[char, 0]), "upper": float(ci.loc[char, 1]),
                 "p_value": float(fit.pvalues[char])}
            )  # fmt: skip
    return pd.DataFrame(rows)


def regressions(frame: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`regression_numbers` (plain names; slopes in the indicator's unit
    per one standard deviation of the characteristic)."""
    num = regression_numbers(frame)
    per = frame.attrs["periods"]
    d = {k: 2 if INDICATORS[k].kind == "price" else 1 for k in num["indicator"].unique()}
    fmt = [compare.number(x, d[k]) for x, k in zip(num["slope"], num["indicator"], strict=True)]
    lo = [compare.number(x, d[k]) for x, k in zip(num["lower"], num["indicator"], strict=True)]
    hi = [compare.number(x, d[k]) for x, k in zip(num["upper"], num["indicator"], strict=True)]
    out = pd.DataFrame(
        {
            "Indicator": num["indicator"].map(short_title),
            "Unit": num["indicator"].map(lambda k: INDICATORS[k].unit),
            "Period": num["indicator"].map(per),
            "Council characteristic (per 1 SD)": num["characteristic"].map(CHARACTERISTICS),
            "Councils": num["n"],
            "Change in the indicator": fmt,
            compare.CI_LOWER: lo,
            compare.CI_UPPER: hi,
            "Share of variation explained (R squared)": [compare.number(r, 2) for r in num["r2"]],
        }
    )
    shown = compare.for_display(out.set_index(["Indicator", "Council characteristic (per 1 SD)"]))
    shown.attrs["notes"] = [
        "Ordinary least squares of the indicator on the four characteristics together, each "
        "standardised (change per one standard deviation between councils, the others held "
        "fixed); 95% intervals from HC3 heteroscedasticity-robust standard errors (MacKinnon and "
        "White 1985). The share aged 85+ is left out because it moves with the share aged 65+; "
        "density and sparsity overlap too, so read them together as rurality."
    ]
    return shown


# ---------------------------------------------------------------------------------------------
# overdispersion


def i_squared(q: float, k: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """``I^2 = (Q - (k - 1)) / Q`` (at least 0) with Higgins and Thompson's (2002) interval from
    the standard error of ``ln H``, ``H = sqrt(Q / (k - 1))`` (their equations 8 and 9)."""
    if k < 3 or not np.isfinite(q) or q <= 0:
        return np.nan, np.nan, np.nan
    df = k - 1
    h = np.sqrt(q / df)
    if q > k:
        se = 0.5 * (np.log(q) - np.log(df)) / (np.sqrt(2 * q) - np.sqrt(2 * k - 3))
    else:
        se = np.sqrt(1 / (2 * (k - 2)) * (1 - 1 / (3 * (k - 2) ** 2)))
    z = stats.norm.ppf(0.5 + confidence / 2)
    lo_h, hi_h = np.exp(np.log(h) - z * se), np.exp(np.log(h) + z * se)

    def to_i2(x: float) -> float:
        return float(max(0.0, (x**2 - 1) / x**2))

    return to_i2(h), to_i2(max(lo_h, 1e-12)), to_i2(hi_h)


def overdispersion_numbers(keys: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per indicator with counts and per year: the funnel's councils ``n``, ``phi``, ``p_value``
    (chi-square test of no overdispersion), ``tau2`` (on the funnel's scale), ``scale`` and
    ``i2, i2_lower, i2_upper`` (:func:`i_squared` with ``Q = n phi``)."""
    keys = keys or tuple(k for k in HEADLINE if INDICATORS[k].kind != "price")
    rows = []
    for key in keys:
        t = indicators.get(key)
        for period in sorted(t.loc[t["value"].notna(), "period"].unique()):
            cs = indicators.cross_section(key, period)
            cs = cs[cs["value"].notna()]
            if cs.empty:
                continue
            some = str(cs["council_codes"].iloc[0]).split(";")[0]
            res = verdict.benchmark(key, some, period, ()).funnel
            if res is None:
                continue
            i2, lo, hi = i_squared(res.n_units * res.phi, res.n_units)
            rows.append(
                {"indicator": key, "period": period, "n": res.n_units, "phi": res.phi,
                 "p_value": res.p_value, "tau2": res.tau2, "scale": res.scale, "i2": i2,
                 "i2_lower": lo, "i2_upper": hi}
            )  # fmt: skip
    return pd.DataFrame(rows)


def overdispersion_claims(numbers: pd.DataFrame) -> str:
    """For the latest year of each indicator: phi and the share of the spread beyond chance with
    its interval, in words (Markdown bullets)."""
    lines = []
    for key, g in numbers.groupby("indicator", sort=False):
        r = g.sort_values("period").iloc[-1]
        lines.append(
            f"- {short_title(key)} ({r['period']}, {r['n']} councils): councils vary "
            f"{compare.number(r['phi'], 1)} times as much as chance alone would (winsorised phi); "
            f"about {compare.number(100 * r['i2'], 0)}% of the spread between them is beyond "
            f"chance (95% CI {compare.number(100 * r['i2_lower'], 0)}% to "
            f"{compare.number(100 * r['i2_upper'], 0)}%; I squared, Higgins and Thompson 2002)."
        )
    return "\n".join(lines)


def overdispersion(numbers: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`overdispersion_numbers`."""
    out = pd.DataFrame(
        {
            "Indicator": numbers["indicator"].map(short_title),
            "Period": numbers["period"],
            "Councils": numbers["n"],
            "Overdispersion (phi)": [compare.number(x, 1) for x in numbers["phi"]],
            "p-value (no overdispersion)": [
                "<0.001" if p < 0.001 else compare.number(p, 3) for p in numbers["p_value"]
            ],
            "Between-council variance (tau squared)": [f"{x:.3g}" for x in numbers["tau2"]],
            "Spread beyond chance (%)": [compare.number(100 * x, 0) for x in numbers["i2"]],
            compare.CI_LOWER: [compare.number(100 * x, 0) for x in numbers["i2_lower"]],
            compare.CI_UPPER: [compare.number(100 * x, 0) for x in numbers["i2_upper"]],
        }
    )
    shown = compare.for_display(out.set_index(["Indicator", "Period"]))
    shown.attrs["notes"] = [
        "phi: mean squared z-score of the councils around England on the funnel's "
        "variance-stabilising scale (square root for rates, arcsine for proportions), 10% "
        "winsorised each tail (Spiegelhalter 2005); 1 means councils vary as chance alone would "
        "(winsorising pulls phi below 1 when they do). Delayed transfers: z-scores already "
        "allow for the within-council dispersion of delayed days.",
        "Spread beyond chance: I squared = (Q - df) / Q with Q = n phi and df = n - 1, the share "
        "of the variation between councils that chance within councils does not explain; 95% "
        "interval from Higgins and Thompson (2002). Winsorised phi understates Q, so this is a "
        "lower estimate.",
    ]
    return shown


# ---------------------------------------------------------------------------------------------
# fees against unit costs

#: (service, fee measures by table, in-house unit cost measure, unit)
SERVICES = {
    "Home care": (
        {"unit_costs": "fee_home_care_hour_independent",
         "ascfr_2021_22": "fee_home_care_hour_external"},
        "unit_cost_home_care_hour_own",
        "GBP per hour",
    ),
    "Residential care 65+": (
        {"unit_costs": "fee_residential_65_week_independent",
         "ascfr_2021_22": "fee_residential_65_week_external"},
        "unit_cost_residential_65_week_own",
        "GBP per week",
    ),
}  # fmt: skip
FEE_SOURCE = (
    "PSS-EX1 unit costs (NHS Digital/DH) 2008-09 to 2014-15; NHS Digital ASC-FR 2020-21 and 2021-22"
)


def median_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Median with a distribution-free interval from order statistics (Conover 1999, 3.2):
    ``x_(k)`` to ``x_(n-k+1)`` with ``k`` the smallest count whose binomial(n, 1/2) tail
    reaches ``(1 - confidence) / 2``; coverage is at least ``confidence``. NaN below 6 values."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    if n < 6:
        return (float(np.median(x)) if n else np.nan), np.nan, np.nan
    k = int(stats.binom.ppf((1 - confidence) / 2, n, 0.5))  # P(B <= k-1) < alpha/2
    k = max(k, 1)
    return float(np.median(x)), float(x[k - 1]), float(x[n - k])


def fee_cost_numbers() -> pd.DataFrame:
    """Per service and period: councils with both a fee and an in-house unit cost, the medians
    of each with intervals, the median ratio fee / own cost with its interval, and the share of
    councils paying less than their own cost (Wilson interval). Columns ``service, period,
    definition, n, fee, fee_lower, fee_upper, cost, cost_lower, cost_upper, ratio, ratio_lower,
    ratio_upper, below, below_lower, below_upper``."""
    from asc_evidence.build import load
    from asc_evidence.stats.intervals import proportion_ci

    rows = []
    for service, (fees, own, _unit) in SERVICES.items():
        for table, fee_measure in fees.items():
            df = load(table)
            df = df[(df["level"] == "council") & df["value"].notna()]
            wide = df[df["measure"].isin([fee_measure, own])].pivot_table(
                index=["period", "council_code"], columns="measure", values="value", aggfunc="first"
            )
            if fee_measure not in wide or own not in wide:
                continue
            wide = wide.dropna(subset=[fee_measure, own])
            wide = wide[(wide[fee_measure] > 0) & (wide[own] > 0)]
            for period, g in wide.groupby(level="period"):
                ratio = g[fee_measure] / g[own]
                below = int((ratio < 1).sum())
                ci = proportion_ci(below, len(g), confidence=0.95, method="wilson")
                f, c, r = median_ci(g[fee_measure]), median_ci(g[own]), median_ci(ratio)
                rows.append(
                    {"service": service, "period": period,
                     "definition": "PSS-EX1" if table == "unit_costs" else "ASC-FR",
                     "n": len(g), "fee": f[0], "fee_lower": f[1], "fee_upper": f[2],
                     "cost": c[0], "cost_lower": c[1], "cost_upper": c[2],
                     "ratio": r[0], "ratio_lower": r[1], "ratio_upper": r[2],
                     "below": below / len(g), "below_lower": float(np.asarray(ci.lower)),
                     "below_upper": float(np.asarray(ci.upper))}
                )  # fmt: skip
    return pd.DataFrame(rows).sort_values(["service", "period"]).reset_index(drop=True)


def fee_claims(numbers: pd.DataFrame) -> str:
    """First and last year of each source and service in words: median fee as a share of the
    council's own unit cost, with its interval (Markdown bullets)."""
    lines = []
    for (service, source), g in numbers.groupby(["service", "definition"], sort=False):
        g = g.sort_values("period")
        ends = [g.iloc[0], g.iloc[-1]] if len(g) > 1 else [g.iloc[0]]
        parts = [
            f"{r['period']}: median fee £{compare.number(r['fee'], 2)} (95% CI "
            f"£{compare.number(r['fee_lower'], 2)} to £{compare.number(r['fee_upper'], 2)}), "
            f"{compare.number(100 * r['ratio'], 0)}% of the council's own unit cost (95% CI "
            f"{compare.number(100 * r['ratio_lower'], 0)}% to "
            f"{compare.number(100 * r['ratio_upper'], 0)}%; {r['n']} councils)"
            for r in ends
        ]
        lines.append(f"- {service}, {source}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def fees_against_costs(numbers: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`fee_cost_numbers` (medians in £, ratio and share in %)."""

    def ci(a, b, d=2, scale=1.0):
        return [
            f"{compare.number(scale * x, d)} to {compare.number(scale * y, d)}"
            for x, y in zip(a, b, strict=True)
        ]

    out = pd.DataFrame(
        {
            "Service": numbers["service"],
            "Period": numbers["period"],
            "Source": numbers["definition"],
            "Councils": numbers["n"],
            "Median fee paid (£)": [compare.number(x, 2) for x in numbers["fee"]],
            "95% CI (fee)": ci(numbers["fee_lower"], numbers["fee_upper"]),
            "Median in-house unit cost (£)": [compare.number(x, 2) for x in numbers["cost"]],
            "95% CI (cost)": ci(numbers["cost_lower"], numbers["cost_upper"]),
            "Median fee as % of own cost": [compare.number(100 * x, 0) for x in numbers["ratio"]],
            "95% CI (%)": ci(numbers["ratio_lower"], numbers["ratio_upper"], 0, 100),
            "Councils paying less than own cost (%)": [
                compare.number(100 * x, 0) for x in numbers["below"]
            ],
            "95% CI (councils, %)": ci(numbers["below_lower"], numbers["below_upper"], 0, 100),
        }
    )
    shown = compare.for_display(out.set_index(["Service", "Period"]))
    shown.attrs["notes"] = [
        "Fee: the unit cost of care bought from the independent sector (PSS-EX1, to 2014-15) or "
        "the average rate paid to external providers (ASC-FR, 2020-21 and 2021-22); in-house "
        "unit cost: the council's own provision. The two sources are not strictly comparable "
        "(series break). Medians over councils reporting both, with distribution-free 95% "
        "intervals (order statistics, Conover 1999); share paying less: Wilson interval.",
        "Residential care 2014-15 is summed over primary support reasons (new Care Act "
        "categories), not comparable with earlier years.",
    ]
    return shown


def sources_markdown() -> str:
    """The sources of the findings: the indicators' (with official pages) and the profile's."""
    from asc_evidence.notebook import sources_markdown as indicator_sources

    return (
        indicator_sources(OUTCOMES)
        + f"<br><small>Council characteristics: {PROFILE_SOURCE}.</small>"
    )


# ---------------------------------------------------------------------------------------------
# figures


def correlation_figure(frame: pd.DataFrame):
    """Dot-and-interval chart of Spearman's rho, one panel per characteristic."""
    import matplotlib.pyplot as plt

    num = correlation_numbers(frame)
    chars = list(CHARACTERISTICS)
    keys = list(dict.fromkeys(num["indicator"]))
    fig, axes = plt.subplots(1, len(chars), figsize=(13, 0.45 * len(keys) + 2.2), sharey=True)
    y = np.arange(len(keys))[::-1]
    for ax, char in zip(axes, chars, strict=True):
        sub = num[num["characteristic"] == char].set_index("indicator").loc[keys]
        clear = ((sub["lower"] > 0) | (sub["upper"] < 0)).to_numpy()
        ax.axvline(0, color="black", lw=0.8)
        ax.errorbar(
            sub["rho"], y, xerr=[sub["rho"] - sub["lower"], sub["upper"] - sub["rho"]],
            fmt="none", ecolor="grey", lw=1.2,
        )  # fmt: skip
        ax.scatter(sub["rho"], y, c=np.where(clear, charts.COUNCIL, "white"),
                   edgecolors=charts.COUNCIL, zorder=3)  # fmt: skip
        ax.set(xlim=(-1, 1), title=_SHORT_CHAR[char][:1].upper() + _SHORT_CHAR[char][1:])
        ax.title.set_fontsize(9)
    per = frame.attrs["periods"]
    fig.supxlabel("Spearman correlation between councils (95% interval)", fontsize=9)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([f"{short_title(k)} ({per[k]})" for k in keys], fontsize=8)
    fig.suptitle(
        "How the headline indicators vary with deprivation, age and rurality across councils",
        fontweight="bold",
    )
    charts.caption(
        fig,
        f"{_sources(keys)}; {PROFILE_SOURCE}. Dots: Spearman correlation between councils (filled "
        "where the 95% interval, Bonett and Wright 2000, excludes 0)",
        ", ".join(f"{short_title(k)} {per[k]}" for k in keys),
    )
    fig.tight_layout()
    return fig


def scatter_figure(frame: pd.DataFrame, characteristic: str = "imd_average_score"):
    """One small scatter per indicator against a characteristic, with the least-squares line."""
    import matplotlib.pyplot as plt

    per = frame.attrs["periods"]
    keys = [k for k in per if k in frame]
    cols = 3
    rows_ = int(np.ceil(len(keys) / cols))
    fig, axes = plt.subplots(rows_, cols, figsize=(13, 3.6 * rows_))
    axes = np.atleast_1d(axes).ravel()
    for ax, key in zip(axes, keys, strict=False):
        data = frame[[characteristic, key]].dropna()
        ax.scatter(data[characteristic], data[key], s=12, color=charts.NEIGHBOUR, alpha=0.7)
        if len(data) >= 3:
            slope, intercept = np.polyfit(data[characteristic], data[key], 1)
            xs = np.linspace(data[characteristic].min(), data[characteristic].max(), 50)
            ax.plot(xs, intercept + slope * xs, color=charts.COUNCIL, lw=1.5)
        ax.set_title(textwrap.fill(f"{short_title(key)}, {per[key]}", 48), fontsize=8.5)
        ax.set_xlabel(CHARACTERISTICS[characteristic], fontsize=8)
        ax.set_ylabel(INDICATORS[key].unit, fontsize=8)
    for ax in axes[len(keys) :]:
        ax.set_axis_off()
    fig.suptitle(
        f"Headline indicators against {_SHORT_CHAR[characteristic]}, one dot per council",
        fontweight="bold",
    )
    charts.caption(
        fig,
        f"{_sources(keys)}; {PROFILE_SOURCE}. Line: least-squares fit",
        ", ".join(f"{short_title(k)} {per[k]}" for k in keys),
    )
    fig.tight_layout()
    return fig


def overdispersion_figure(numbers: pd.DataFrame):
    """The share of the spread between councils beyond chance (I squared) by year, with 95%
    intervals, one line per indicator."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    years = sorted(numbers["period"].unique())
    pos = {p: i for i, p in enumerate(years)}
    for i, (key, g) in enumerate(numbers.groupby("indicator", sort=False)):
        x = g["period"].map(pos).to_numpy() + (i - 1.5) * 0.06
        ax.errorbar(
            x, 100 * g["i2"], yerr=[100 * (g["i2"] - g["i2_lower"]), 100 * (g["i2_upper"] - g["i2"])],
            marker="o", capsize=2, label=short_title(key),
        )  # fmt: skip
    ax.set_xticks(range(len(years)))
    ax.set_xticklabels(years, rotation=45)
    ax.set(
        ylim=(0, 100),
        xlabel="Financial year",
        ylabel="Spread between councils beyond chance (%)",
        title="How much of the variation between councils is more than chance",
    )
    ax.legend(fontsize=8, loc="lower left")
    charts.caption(
        fig,
        f"{_sources(numbers['indicator'].unique())}. I squared from the funnels' winsorised phi (Spiegelhalter 2005) with Higgins "
        "and Thompson's (2002) 95% intervals",
        f"{years[0]} to {years[-1]}",
    )
    fig.tight_layout()
    return fig


def fees_figure(numbers: pd.DataFrame):
    """Median fee paid and median in-house unit cost by year, one panel per service, with 95%
    intervals; the break between the two sources marked."""
    import matplotlib.pyplot as plt

    services = list(dict.fromkeys(numbers["service"]))
    fig, axes = plt.subplots(1, len(services), figsize=(13, 4.8))
    for ax, service in zip(np.atleast_1d(axes), services, strict=True):
        g = numbers[numbers["service"] == service]
        years = list(g["period"])
        x = np.arange(len(years))
        for col, label, colour in (
            ("fee", "Median fee paid to providers", charts.COUNCIL),
            ("cost", "Median in-house unit cost", charts.NEIGHBOUR),
        ):
            for src, part in g.assign(_x=x).groupby("definition", sort=False):
                ax.errorbar(
                    part["_x"], part[col],
                    yerr=[part[col] - part[f"{col}_lower"], part[f"{col}_upper"] - part[col]],
                    marker="o", capsize=2, color=colour,
                    label=label if src == g["definition"].iloc[0] else None,
                )  # fmt: skip
        breaks = [
            i
            for i in range(1, len(years))
            if g["definition"].iloc[i] != g["definition"].iloc[i - 1]
        ]
        for b in breaks:
            ax.axvline(b - 0.5, color="grey", ls=":")
            ax.text(b - 0.45, 0.02, "series break", transform=ax.get_xaxis_transform(),
                    fontsize=7, color="dimgrey", rotation=90, va="bottom")  # fmt: skip
        unit = SERVICES[service][2]
        ax.set_xticks(x)
        ax.set_xticklabels(years, rotation=45)
        ax.set(title=f"{service}: fee paid against own unit cost", xlabel="Financial year",
               ylabel=unit)  # fmt: skip
        ax.legend(fontsize=8, loc="upper left")
    charts.caption(
        fig,
        f"{FEE_SOURCE}. Medians over councils reporting both, distribution-free 95% intervals",
        f"{numbers['period'].min()} to {numbers['period'].max()}",
    )
    fig.tight_layout()
    return fig
