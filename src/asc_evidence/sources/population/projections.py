"""ONS 2018-based population projections: subnational (SNPP) by council and national (NPP)
variants for England (tables population_projection, population_projection_variants).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.bands import (
    FIVE_YEAR_BANDS,
    _keep_codes,
    _number_label,
    to_age_bands,
)
from asc_evidence.sources.population.mye import _finish

# ---------------------------------------------------------------------------------------------
# projections

SNPP_2018_KEY = "population/ons_snpp_2018/ons_pop.csv"
SNPP_YEARS: list[str] = [str(y) for y in range(2018, 2044)]
SNPP_SOURCES: dict[str, tuple[int, float]] = {
    **{b: (int(b.split("-")[0]), int(b.split("-")[1])) for b in FIVE_YEAR_BANDS[:-1]},
    "90+": (90, np.inf),
}


def parse_snpp_2018(path: Path) -> pd.DataFrame:
    """Tidy 2018-based SNPP (persons, 5-year bands) for England, regions and councils, 2018-2043.

    ``all`` is the published ``All ages`` row; other aggregates are sums of bands (``18+`` and
    ``18-64`` approximate, flagged). Councils created after 2018 are summed from 2018 areas.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(df.columns, ["CODE", "AREA", "AGE GROUP", *SNPP_YEARS], path.name)
    df = df[_keep_codes(df["CODE"])]
    long = df.melt(
        id_vars=["CODE", "AREA", "AGE GROUP"],
        value_vars=SNPP_YEARS,
        var_name="period",
        value_name="raw",
    )
    long["value"], _ = tidy.to_number(long["raw"], {})
    long = long.rename(columns={"CODE": "code", "AREA": "name", "AGE GROUP": "age"})
    groups = set(long["age"].unique())
    if groups != set(FIVE_YEAR_BANDS) | {"All ages"}:
        msg = f"{path.name} (AGE GROUP values)"
        raise SchemaChangedError(msg, [*FIVE_YEAR_BANDS, "All ages"], sorted(groups))
    long = geo.add_successors(long, ["value"], code_col="code", by=["period", "age"])
    names = long.drop_duplicates("code").set_index("code")["name"]
    succ = long.drop_duplicates("code").set_index("code")["successor_of"]
    long = long[geo.level_of(long["code"]).notna()]
    bands = to_age_bands(long[long["age"] != "All ages"], ["code", "period"], sources=SNPP_SOURCES)
    bands = bands[bands["age_band"] != "all"]
    total = long[long["age"] == "All ages"][["code", "period", "value"]].assign(
        age_band="all", approximate=False
    )
    bands = pd.concat([bands, total], ignore_index=True)
    return _finish(bands, names, succ, source="ons_snpp_2018")


def make_population_projection() -> pd.DataFrame:
    """``population_projection``: 2018-based SNPP."""
    return parse_snpp_2018(fetch(SNPP_2018_KEY))


NPP_DIR = "population/ons_npp_2018"
NPP_VARIANTS: dict[str, str] = {
    "ppp": "principal",
    "hhh": "high population",
    "lll": "low population",
    "php": "high life expectancy",
    "plp": "low life expectancy",
    "pph": "high migration",
    "ppl": "low migration",
}  # fertility variants (hpp, lpp) are not in the mirror


def npp_key(variant: str) -> str:
    """Registry key of the 2018-based NPP open-data workbook for ``variant`` (e.g. ``'ppp'``)."""
    return f"{NPP_DIR}/en_{variant}_opendata2018.xls"


def parse_npp_population(
    frame: pd.DataFrame, variant: str, file: str = "NPP Population sheet"
) -> pd.DataFrame:
    """Tidy England projection by age band and sex from the ``Population`` sheet of an NPP workbook.

    ``frame`` is the sheet read with its header row (``Sex``, ``Age``, year columns). ``Sex`` 1 is
    male, 2 female; persons are their sum. Ages ``'105 - 109'`` and ``'110 and over'`` fall in 90+.
    """
    frame = frame.rename(columns=lambda c: _number_label(c))
    years = [c for c in frame.columns if re.fullmatch(r"\d{4}", c)]
    tidy.expect_columns(frame.columns, ["Sex", "Age", "2018", "2043"], file)
    long = frame.melt(id_vars=["Sex", "Age"], value_vars=years, var_name="period", value_name="raw")
    long["value"], _ = tidy.to_number(long["raw"], {})
    first = long["Age"].astype("string").str.strip().str.extract(r"^(\d+)", expand=False)
    if first.isna().any():
        msg = f"{file} (Age values)"
        raise SchemaChangedError(
            msg,
            ["0", "...", "110 and over"],
            sorted(set(long.loc[first.isna(), "Age"].astype(str))),
        )
    long["age"] = first.astype(int).clip(upper=90).astype(str)
    sex = long["Sex"].astype(str).str.strip().map({"1": "male", "2": "female"})
    if sex.isna().any():
        msg = f"{file} (Sex values)"
        raise SchemaChangedError(msg, ["1", "2"], sorted(set(long["Sex"].astype(str))))
    long["sex"] = sex
    long = long.groupby(["sex", "period", "age"], as_index=False)["value"].sum()
    persons = long.groupby(["period", "age"], as_index=False)["value"].sum().assign(sex="persons")
    long = pd.concat([long, persons], ignore_index=True).assign(code=ENGLAND)
    bands = to_age_bands(long, ["code", "sex", "period"])
    bands["measure"] = f"npp_{variant}"
    return _finish(bands, source="ons_npp_2018")


def make_population_projection_variants() -> pd.DataFrame:
    """``population_projection_variants``: England NPP 2018, principal and six variants."""
    pieces = []
    for variant in NPP_VARIANTS:
        path = fetch(npp_key(variant))
        sheet = excel.read_excel(path, sheet_name="Population")
        pieces.append(parse_npp_population(sheet, variant, path.name))
    return pd.concat(pieces, ignore_index=True)
