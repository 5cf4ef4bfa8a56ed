"""Age bands of every population table, and the helpers they share (names, flags, codes)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from asc_evidence import councils
from asc_evidence.common import ENGLAND
from asc_evidence.sources import geography as geo

# ---------------------------------------------------------------------------------------------
# age bands

FIVE_YEAR_BANDS: list[str] = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
AGGREGATE_BANDS: dict[str, tuple[int, float]] = {
    "18+": (18, np.inf),
    "18-64": (18, 64),
    "65+": (65, np.inf),
    "75+": (75, np.inf),
    "85+": (85, np.inf),
    "all": (0, np.inf),
}
AGE_BANDS: list[str] = FIVE_YEAR_BANDS + list(AGGREGATE_BANDS)
_TARGETS: dict[str, tuple[int, float]] = {
    **{b: (int(b.split("-")[0]), int(b.split("-")[1])) for b in FIVE_YEAR_BANDS[:-1]},
    "90+": (90, np.inf),
    **AGGREGATE_BANDS,
}

REGION_NAMES: dict[str, str] = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}


def band_weights(sources: dict[str, tuple[int, float]]) -> pd.DataFrame:
    """Share of each source age range that falls in each target band of :data:`AGE_BANDS`.

    ``sources`` maps a source label to its inclusive age range (``np.inf`` for an open top).
    Returns ``src, age_band, weight`` with weight > 0 only; a weight strictly between 0 and 1
    (a source band straddling a target's edge, assumed evenly spread) makes the result approximate.
    An open source band (``90+``) counts fully in targets that contain it and not at all elsewhere.
    """
    rows = []
    for src, (lo, hi) in sources.items():
        for band, (tlo, thi) in _TARGETS.items():
            if np.isinf(hi):
                w = 1.0 if (tlo <= lo and np.isinf(thi)) else 0.0
            else:
                w = max(0.0, min(hi, thi) - max(lo, tlo) + 1) / (hi - lo + 1)
            if w > 0:
                rows.append((src, band, w))
    return pd.DataFrame(rows, columns=["src", "age_band", "weight"])


def single_year_sources(top: int = 90) -> dict[str, tuple[int, float]]:
    """Source ranges for single years ``'0'`` ... ``str(top - 1)`` and an open ``str(top)`` (= top and over)."""
    out: dict[str, tuple[int, float]] = {str(a): (a, a) for a in range(top)}
    out[str(top)] = (top, np.inf)
    return out


def to_age_bands(
    long: pd.DataFrame,
    keys: list[str],
    src: str = "age",
    value: str = "value",
    sources: dict[str, tuple[int, float]] | None = None,
) -> pd.DataFrame:
    """Sum ``value`` over the ages in each band of :data:`AGE_BANDS`, by ``keys``.

    ``long[src]`` holds source labels (single years ``'0'``..``'90'`` by default, 90 = 90+).
    Returns ``keys + ['age_band', value, 'approximate']``: a band is NaN when any of its ages is
    NaN, and ``approximate`` is True when a source band was split between target bands.
    """
    weights = band_weights(sources or single_year_sources())
    merged = long[[*keys, src, value]].merge(weights, left_on=src, right_on="src", how="inner")
    merged["_v"] = merged[value] * merged["weight"]
    merged["_partial"] = merged["weight"] < 1
    # one grouping for the strict sum (as geography.strict_sum) and the approximate flag
    grouped = merged.groupby([*keys, "age_band"], sort=False, observed=True)
    sums = grouped["_v"].sum(min_count=1)
    out = sums.where(grouped["_v"].count().eq(grouped.size())).rename(value).to_frame()
    out["approximate"] = grouped["_partial"].any()
    return out.reset_index()


# ---------------------------------------------------------------------------------------------
# shared helpers


def _join_flags(*flags: pd.Series) -> pd.Series:
    """Join non-empty flag strings with '; ' row-wise.

    Each distinct combination of flags is joined once (tables repeat a few combinations over
    many rows): a row's flags are keyed by one string, joined by the unit separator character.
    """
    columns = [f.astype("string").fillna("").to_numpy(dtype=object) for f in flags]
    key = columns[0]
    for column in columns[1:]:
        key = key + "\x1f" + column
    codes, combos = pd.factorize(key)
    joined = np.array(
        ["".join(f"{f}; " for f in combo.split("\x1f") if f).rstrip("; ") for combo in combos],
        dtype=object,
    )
    return pd.Series(joined[codes], index=flags[0].index, dtype="string")


def _boundary_flags(codes: pd.Series, successor_of: pd.Series) -> pd.Series:
    """Flags for abolished council codes and councils built from their predecessor areas."""
    reg = councils.register().set_index("code")
    valid_to = codes.map(reg["valid_to"]).fillna("")
    abolished = pd.Series(
        np.where(valid_to != "", "boundary: code abolished after " + valid_to, ""),
        index=codes.index,
    )
    summed = pd.Series(
        np.where(successor_of != "", "boundary: summed from predecessor areas " + successor_of, ""),
        index=codes.index,
    )
    return _join_flags(abolished, summed)


def _names(codes: pd.Series, file_names: pd.Series | None = None) -> pd.Series:
    """Council names from the register, region names from :data:`REGION_NAMES`, else the file's."""
    reg = councils.register().set_index("code")["name"]
    names = codes.map(reg).fillna(codes.map(REGION_NAMES)).mask(codes == ENGLAND, "England")
    if file_names is not None:
        names = names.fillna(file_names)
    return names.astype("string")


def _keep_codes(codes: pd.Series) -> pd.Series:
    """England, regions, councils and the components of :data:`geography.SUCCESSOR_COMPONENTS`."""
    parts = {p for ps in geo.SUCCESSOR_COMPONENTS.values() for p in ps}
    return geo.level_of(codes).notna() | codes.isin(parts)


def _number_label(x: object) -> str:
    text = str(x).strip()
    return str(int(float(text))) if re.fullmatch(r"\d+(\.0+)?", text) else text
