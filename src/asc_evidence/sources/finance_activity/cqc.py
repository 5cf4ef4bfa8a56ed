"""CQC care directory aggregates by council, 1 February 2021 (table cqc_beds_2021)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from asc_evidence import tidy
from asc_evidence.fetch import fetch
from asc_evidence.sources.finance_activity.shared import (
    CQC_FILES,
    MARKERS,
    _warn_unresolved,
    resolve_councils,
)

# --------------------------------------------------------------------------- CQC care directory Feb 2021

CQC_NON_COUNCILS = {"Unspecified", "Flintshire"}


def parse_cqc_beds(beds: Path, nursing: Path, dom: Path) -> pd.DataFrame:
    """Parse the three CQC aggregate CSVs into tidy rows per council (period ``2021-02``).

    ``care_home_beds_without_nursing`` is mislabelled in the source: it counts beds in homes registered
    WITH nursing (see PROVENANCE), so it becomes ``care_home_beds_nursing``; beds in homes without
    nursing are derived as the difference. Non-council rows (Unspecified, Flintshire) are dropped.
    """
    specs = (
        (beds, "care_home_beds", "care_home_beds", "beds"),
        (nursing, "care_home_beds_without_nursing", "care_home_beds_nursing", "beds"),
        (dom, "num_domiciliary_services", "domiciliary_care_services", "locations"),
    )
    frames = []
    for path, column, measure, unit in specs:
        df = pd.read_csv(path, dtype="string", keep_default_na=False)
        tidy.expect_columns(df.columns, ["lad_name", column], path.name)
        vals, flags = tidy.to_number(df[column], MARKERS)
        frames.append(
            pd.DataFrame(
                {
                    "name": df["lad_name"].str.strip(),
                    "measure": measure,
                    "unit": unit,
                    "value": vals,
                    "flag": flags,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out[~out["name"].isin(CQC_NON_COUNCILS)]
    wide = out.pivot_table(index="name", columns="measure", values="value", aggfunc="first")
    if {"care_home_beds", "care_home_beds_nursing"} <= set(wide.columns):
        derived = (wide["care_home_beds"] - wide["care_home_beds_nursing"]).dropna()
        out = pd.concat(
            [
                out,
                pd.DataFrame(
                    {
                        "name": derived.index,
                        "measure": "care_home_beds_without_nursing_derived",
                        "unit": "beds",
                        "value": derived.values,
                        "flag": "derived: all beds minus beds in homes registered with nursing",
                    }
                ),
            ],
            ignore_index=True,
        )
    codes, names, unresolved = resolve_councils(out["name"], out["name"])
    _warn_unresolved(sorted(unresolved), "CQC care directory aggregates")
    out["council_code"], out["council_name"] = codes, names
    out = out[out["council_code"].notna()]
    return tidy.make_tidy(out, source="cqc_care_directory_2021", period="2021-02", age_band="all")


def make_cqc_beds() -> pd.DataFrame:
    """The ``cqc_beds_2021`` table."""
    return parse_cqc_beds(*(fetch(CQC_FILES[k]) for k in ("beds", "nursing", "dom")))
