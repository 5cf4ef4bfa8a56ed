"""Statistical neighbours: councils most alike on a profile of demographic and social variables.

A council's performance is best read against councils that face similar demand. This module
finds the ``n`` nearest councils by weighted Euclidean distance on standardised variables, loads
a published neighbour list instead (CIPFA, NHS England, Oflog), and measures how much the set
depends on the choice of variables.

References
----------
.. [1] CIPFA (2019). *Nearest Neighbours Model: technical note*. Chartered Institute of Public
   Finance and Accountancy, London.
.. [2] NHS Digital (2023). *Adult Social Care: local authority comparator (peer) groups,
   methodology*. NHS England, Leeds.
.. [3] Jaccard, P. (1912). The distribution of the flora in the alpine zone. *New Phytologist*
   11(2), 37-50. doi:10.1111/j.1469-8137.1912.tb05611.x
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from asc_evidence.errors import NeighbourFileError

DEFAULT_WEIGHTS: dict[str, float] = {
    "share_65plus": 3.0,
    "share_85plus": 3.0,
    "imd_average_score": 3.0,
    "owner_occupied_share": 1.5,
    "population_2021": 1.0,
    "share_18_64": 1.0,
    "density_per_km2": 1.0,
    "sparsity": 1.0,
    "nssec_routine_share": 1.0,
}
"""Relative weights of the profile variables (only their ratios matter for the ranking).

Our approximation, NOT CIPFA's model: CIPFA's Nearest Neighbours Model [1]_ uses a longer list
of weighted socio-economic variables and NHS Digital's ASC peer groups [2]_ use their own
selection; neither is reproduced here. We follow their common idea that the variables driving
adult social care demand count most:

* ``share_65plus``, ``share_85plus`` (3 each): older people, and the oldest above all, are the
  main users of long-term care, so age structure is weighted most heavily;
* ``imd_average_score`` (3): deprivation predicts ill health, need and the share of people
  whose care the council funds;
* ``owner_occupied_share`` (1.5): a proxy for housing wealth, hence for self-funders who do
  not draw on council funding;
* ``population_2021``, ``share_18_64``, ``density_per_km2``, ``sparsity``,
  ``nssec_routine_share`` (1 each): scale, working-age demand, the cost of delivering care
  (travel in sparse areas, markets in dense ones) and occupational class.

``neighbour_stability`` shows how much the neighbour sets depend on these choices.
"""

DEFAULT_LOG_VARS: tuple[str, ...] = ("population_2021", "density_per_km2")
GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")


def standardise(
    profile: pd.DataFrame,
    variables: Iterable[str],
    log_vars: Iterable[str] = DEFAULT_LOG_VARS,
) -> pd.DataFrame:
    """Z-scores of ``variables`` (after natural log for those in ``log_vars``).

    Parameters
    ----------
    profile
        One row per council, indexed by council code, numeric variable columns.
    variables
        Columns to standardise.
    log_vars
        Columns to log-transform first (skewed counts such as population and density).
        Variables not in ``variables`` are ignored.

    Returns
    -------
    pandas.DataFrame
        Same index, one column per variable: ``(x - mean) / sd`` with the sample standard
        deviation (``ddof=1``). A constant column becomes 0 (it cannot separate councils).

    Raises
    ------
    ValueError
        A variable is absent, a value is missing, or a logged variable is not positive.
    """
    variables = list(variables)
    absent = [v for v in variables if v not in profile.columns]
    if absent:
        msg = f"Profile lacks the variables {absent}; it has {list(profile.columns)}."
        raise ValueError(msg)
    x = profile[variables].astype("float64")
    missing = x.isna()
    if missing.any().any():
        where = {v: list(x.index[missing[v]]) for v in variables if missing[v].any()}
        msg = f"Profile has missing values (variable: councils) {where}; impute or drop them first."
        raise ValueError(msg)
    logged = [v for v in log_vars if v in variables]
    if logged:
        if (x[logged] <= 0).any().any():
            msg = f"Variables {logged} are log-transformed and must be positive."
            raise ValueError(msg)
        x[logged] = np.log(x[logged])
    sd = x.std(ddof=1).replace(0.0, np.nan)
    return ((x - x.mean()) / sd).fillna(0.0)


def _distance_matrix(
    profile: pd.DataFrame, weights: Mapping[str, float], log_vars: Iterable[str]
) -> pd.DataFrame:
    variables = list(weights)
    w = np.array([weights[v] for v in variables], dtype="float64")
    if (w < 0).any() or not (w > 0).any():
        msg = f"Weights must be non-negative with at least one positive: {dict(weights)}."
        raise ValueError(msg)
    z = standardise(profile.sort_index(), variables, log_vars)
    d = cdist(z.to_numpy(), z.to_numpy(), metric="euclidean", w=w)
    return pd.DataFrame(d, index=z.index, columns=z.index)


def _nearest_positions(d: np.ndarray, n: int) -> np.ndarray:
    """Column positions of the ``n`` nearest per row, self excluded, ties kept in code order."""
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :n]


def nearest_neighbours(
    profile: pd.DataFrame,
    n: int = 15,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    log_vars: Iterable[str] = DEFAULT_LOG_VARS,
) -> pd.DataFrame:
    """The ``n`` nearest councils to each council by weighted Euclidean distance.

    Parameters
    ----------
    profile
        Wide profile indexed by council code; must hold every column named in ``weights``
        (other columns are ignored).
    n
        Neighbours per council (the council itself is excluded).
    weights
        Variable -> relative weight; default :data:`DEFAULT_WEIGHTS`.
    log_vars
        Variables log-transformed before standardising.

    Returns
    -------
    pandas.DataFrame
        Long table ``council_code, neighbour_code, rank, distance`` (rank 1 = nearest),
        ``n`` rows per council.

    Notes
    -----
    Each variable is z-scored across the councils in ``profile`` (so the result depends on
    which councils are included), then ``d(i, j) = sqrt(sum_k w_k (z_ik - z_jk)^2)``
    (``scipy.spatial.distance.cdist`` with weights). Equal distances are ordered by council
    code. The approach follows CIPFA's model [1]_ and NHS Digital's peer groups [2]_ in spirit;
    the variables and weights are ours (see :data:`DEFAULT_WEIGHTS`).

    References
    ----------
    .. [1] CIPFA (2019). Nearest Neighbours Model: technical note.
    .. [2] NHS Digital (2023). Adult Social Care local authority peer groups: methodology.
    """
    if n < 1 or n > len(profile) - 1:
        msg = f"n must be between 1 and the number of other councils ({len(profile) - 1}); got {n}."
        raise ValueError(msg)
    if profile.index.has_duplicates:
        dup = sorted(set(profile.index[profile.index.duplicated()]))
        msg = f"Profile index has duplicate council codes: {dup}."
        raise ValueError(msg)
    dist = _distance_matrix(profile, weights, log_vars)
    d = dist.to_numpy()
    pos = _nearest_positions(d, n)
    codes = dist.index.to_numpy()
    rows = np.repeat(np.arange(len(codes)), n)
    return pd.DataFrame(
        {
            "council_code": codes[rows],
            "neighbour_code": codes[pos.ravel()],
            "rank": np.tile(np.arange(1, n + 1), len(codes)),
            "distance": d[rows, pos.ravel()],
        }
    )


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard overlap ``|A & B| / |A | B|`` of two sets, 1 when both are empty (Jaccard 1912)."""
    sa, sb = set(a), set(b)
    union = sa | sb
    return 1.0 if not union else len(sa & sb) / len(union)


def neighbour_stability(
    profile: pd.DataFrame,
    n: int = 15,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    log_vars: Iterable[str] = DEFAULT_LOG_VARS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How much each council's neighbour set changes when the variables or weights change.

    Variants: ``drop <variable>`` for each weighted variable in turn (the others keep their
    weights) and ``equal weights`` (all variables weight 1). For each council and variant, the
    Jaccard overlap (Jaccard 1912) between the default set and the variant's set: 1 = identical,
    0 = disjoint; with ``n = 15``, 0.5 means 10 neighbours in common.

    Returns
    -------
    (table, summary)
        ``table``: ``council_code, variant, jaccard, n_common``;
        ``summary``: per variant ``median_jaccard, min_jaccard, share_at_least_half``
        (share of councils with overlap >= 0.5), sorted from least to most stable.

    Notes
    -----
    A low median for ``drop X`` means variable X drives the sets; a low overlap for a given
    council means its neighbours should be read with caution.
    """
    base = _membership(profile, n, weights, log_vars)
    variants: dict[str, Mapping[str, float]] = {
        f"drop {v}": {k: w for k, w in weights.items() if k != v} for v in weights
    }
    variants["equal weights"] = dict.fromkeys(weights, 1.0)
    codes = profile.sort_index().index
    pieces = []
    for name, w in variants.items():
        if not any(x > 0 for x in w.values()):
            continue
        other = _membership(profile, n, w, log_vars)
        common = (base & other).sum(axis=1)
        union = (base | other).sum(axis=1)
        pieces.append(
            pd.DataFrame(
                {
                    "council_code": codes,
                    "variant": name,
                    "jaccard": common / union,
                    "n_common": common,
                }
            )
        )
    table = pd.concat(pieces, ignore_index=True)
    g = table.groupby("variant", sort=False)["jaccard"]
    summary = (
        pd.DataFrame(
            {
                "median_jaccard": g.median(),
                "min_jaccard": g.min(),
                "share_at_least_half": g.apply(lambda s: (s >= 0.5).mean()),
            }
        )
        .sort_values("median_jaccard")
        .reset_index()
    )
    return table, summary


def _membership(
    profile: pd.DataFrame, n: int, weights: Mapping[str, float], log_vars: Iterable[str]
) -> np.ndarray:
    """Boolean matrix: [i, j] True if council j is among i's ``n`` nearest (code order)."""
    d = _distance_matrix(profile, weights, log_vars).to_numpy()
    pos = _nearest_positions(d, n)
    member = np.zeros_like(d, dtype=bool)
    np.put_along_axis(member, pos, True, axis=1)
    return member


def _resolve_names(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Replace council names (anything not shaped like a GSS code) by codes via ``councils.lookup``.

    A name resolves only if the register's exact normalised name, NHS code or a known alias
    matches (one code); anything else is listed in a :class:`NeighbourFileError`.
    """
    from asc_evidence.councils import lookup
    from asc_evidence.errors import UnknownCouncilError

    values = pd.unique(pd.concat([df["council_code"], df["neighbour_code"]]))
    names = [v for v in values if not GSS_CODE.match(v)]
    if not names:
        return df
    mapping: dict[str, str] = {}
    bad: list[str] = []
    for v in names:
        try:
            mapping[v] = lookup(v).code if v.strip() else ""
        except UnknownCouncilError:
            bad.append(v)
        if mapping.get(v) == "":
            bad.append(v)
    if bad:
        shown = ", ".join(repr(b) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
        msg = (
            f"Neighbour file {name}: expected ONS GSS codes (e.g. E06000030) or council names that "
            f"`asc-evidence councils NAME` finds; found {len(bad)} entries that are neither: {shown}. "
            "Correct or remove those entries."
        )
        raise NeighbourFileError(msg)
    return df.replace({"council_code": mapping, "neighbour_code": mapping})


def load_neighbour_file(
    path: Path | str,
    valid_codes: Iterable[str] | None = None,
    unknown: str = "raise",
    json_order_is_rank: bool = False,
    resolve_names: bool = True,
    drop_self: bool = True,
) -> pd.DataFrame:
    """Read a published or user-supplied neighbour list and check its codes.

    Parameters
    ----------
    path
        A CSV with columns ``council_code, neighbour_code`` and optionally ``rank`` (1 = nearest),
        or a JSON object ``{council_code: [neighbour_code, ...]}`` (the layout of Oflog's
        ``NN.json``). UTF-8; extra CSV columns are ignored.
    valid_codes
        Codes allowed (e.g. ``councils.register()["code"]``); None checks only that each code
        looks like an ONS GSS code (letter + 8 digits).
    unknown
        What to do with well-formed codes not in ``valid_codes``: ``"raise"``, ``"drop"`` (drop
        the rows that mention them, e.g. lower-tier districts in Oflog's list) or ``"warn"``
        (drop them and issue a :class:`UserWarning` naming them).
    json_order_is_rank
        Take a JSON list's order as rank 1, 2, ...; by default rank is missing, because lists
        such as Oflog's are in code order, not nearest first.
    resolve_names
        Accept council names in place of codes when :func:`asc_evidence.councils.lookup` finds
        exactly one council for them (e.g. ``Swindon``, ``Bristol``); other non-codes are errors.
    drop_self
        Remove rows that list a council as its own neighbour (as Oflog's file does).

    Returns
    -------
    pandas.DataFrame
        ``council_code, neighbour_code, rank`` (``rank`` nullable integer).

    Raises
    ------
    NeighbourFileError
        Missing or empty file, unknown file type, missing columns, names that match no council,
        malformed or unknown codes, duplicate pairs.
    """
    path = Path(path)
    if unknown not in {"raise", "drop", "warn"}:
        msg = f"unknown must be 'raise', 'drop' or 'warn'; got {unknown!r}."
        raise ValueError(msg)
    if not path.is_file():
        found = "a folder" if path.is_dir() else "nothing there"
        msg = (
            f"Neighbour file {path}: expected a .csv or .json file; found {found}. "
            "Check the path (relative paths are taken from the folder you run the command in)."
        )
        raise NeighbourFileError(msg)
    suffix = path.suffix.lower()
    layout = (
        "expected a CSV with columns council_code,neighbour_code[,rank] or a JSON object "
        "{council_code: [neighbour codes]}"
    )
    if suffix not in {".csv", ".json"}:
        msg = f"Neighbour file {path.name}: {layout}; found a {suffix or 'no-extension'} file. Save it as .csv or .json."
        raise NeighbourFileError(msg)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if not text.strip():
        msg = f"Neighbour file {path.name}: {layout}; found an empty file. Fill it in or leave out --neighbour-file."
        raise NeighbourFileError(msg)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"Neighbour file {path.name}: {layout}; found invalid JSON ({exc}). Fix the JSON syntax."
            raise NeighbourFileError(msg) from exc
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            msg = f"Neighbour file {path.name}: {layout}; found a JSON {type(data).__name__} of another shape."
            raise NeighbourFileError(msg)
        df = pd.DataFrame(
            [
                (str(k).strip(), str(c).strip(), i + 1)
                for k, v in data.items()
                for i, c in enumerate(v)
            ],
            columns=["council_code", "neighbour_code", "rank"],
        )
        if not json_order_is_rank:
            df["rank"] = pd.NA
    else:
        from io import StringIO

        df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
        df.columns = [str(c).strip() for c in df.columns]
        need = ["council_code", "neighbour_code"]
        if any(c not in df.columns for c in need):
            msg = f"Neighbour file {path.name}: {layout}; found columns {list(df.columns)}. Rename the columns."
            raise NeighbourFileError(msg)
        if "rank" not in df.columns:
            df["rank"] = pd.NA
        df = df[["council_code", "neighbour_code", "rank"]]
        for c in need:
            df[c] = df[c].str.strip()
        rank = pd.to_numeric(df["rank"].replace("", pd.NA), errors="coerce")
        bad_rank = df["rank"].ne("") & df["rank"].notna() & rank.isna()
        if bad_rank.any():
            msg = f"Neighbour file {path.name}: expected whole-number ranks; found {sorted(set(df.loc[bad_rank, 'rank']))}."
            raise NeighbourFileError(msg)
        df["rank"] = rank
    if df.empty:
        msg = f"Neighbour file {path.name}: {layout}; found no rows. Fill it in or leave out --neighbour-file."
        raise NeighbourFileError(msg)
    df["rank"] = df["rank"].astype("Int64")
    if resolve_names:
        df = _resolve_names(df, path.name)

    codes = pd.concat([df["council_code"], df["neighbour_code"]])
    malformed = sorted(set(codes[~codes.str.match(GSS_CODE)]))
    if malformed:
        msg = f"Neighbour file {path.name}: these are not ONS GSS codes (letter + 8 digits): {malformed[:10]}."
        raise NeighbourFileError(msg)
    if valid_codes is not None:
        valid = set(valid_codes)
        bad = ~df["council_code"].isin(valid) | ~df["neighbour_code"].isin(valid)
        if bad.any():
            strangers = sorted(set(codes) - valid)
            listed = f"{strangers[:10]}{' ...' if len(strangers) > 10 else ''}"
            if unknown == "raise":
                msg = (
                    f"Neighbour file {path.name}: {len(strangers)} codes are not valid councils: {listed}"
                    " (pass unknown='drop' to ignore them)."
                )
                raise NeighbourFileError(msg)
            if unknown == "warn":
                import warnings

                warnings.warn(
                    f"Neighbour file {path.name}: ignored {int(bad.sum())} rows naming codes that "
                    f"are not councils with social care responsibility: {listed}",
                    stacklevel=2,
                )
            df = df[~bad]
    if drop_self:
        df = df[df["council_code"] != df["neighbour_code"]]
    dup = df.duplicated(["council_code", "neighbour_code"])
    if dup.any():
        pairs = df.loc[dup, ["council_code", "neighbour_code"]].head(5).to_numpy().tolist()
        msg = f"Neighbour file {path.name}: repeated council/neighbour pairs, e.g. {pairs}."
        raise NeighbourFileError(msg)
    return df.reset_index(drop=True)
