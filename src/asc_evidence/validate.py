"""Checks on report inputs, run before any notebook kernel starts.

Every check raises an :class:`~asc_evidence.errors.AscEvidenceError` subclass whose one-paragraph
message says what was wrong, what was expected, what was found and what to do, so bad input fails in
about two seconds instead of deep inside a notebook. :func:`check_report_inputs` runs them all; the
CLI (``asc-evidence report``) and :func:`asc_evidence.report.run_council` / ``run_all`` call it.

Assumptions: the processed tables are built (``asc-evidence data build``); the valid years are those
the indicator tables hold, so they change when the data do.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from asc_evidence.councils import Council, current, register, register_by_code, require_current
from asc_evidence.errors import InvalidOptionError, InvalidYearError, NeighbourFileError

_YEAR = re.compile(r"^\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*$")


@dataclass(frozen=True)
class ReportInputs:
    """Checked inputs of a report run.

    ``neighbour_file`` is absolute (the notebooks run in another folder); ``skipped`` maps council
    codes that cannot be reported (no row in the neighbour file, ``--all`` only) to the reason;
    ``warnings`` are problems that do not stop the run (e.g. unknown codes ignored in the file).
    """

    councils: tuple[Council, ...]
    year: str | None
    neighbours: int
    neighbour_file: Path | None
    out: Path
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def valid_years() -> list[str]:
    """Financial years (``YYYY-YY``) held by at least one indicator table, oldest first."""
    from asc_evidence import indicators

    years: set[str] = set()
    for key in indicators.INDICATORS:
        years |= set(indicators.get(key)["period"].dropna().astype(str))
    return sorted(y for y in years if re.fullmatch(r"\d{4}-\d{2}", y))


def check_year(year: str | None) -> str | None:
    """``None``/empty (latest per indicator) or a held financial year, normalised to ``YYYY-YY``.

    ``2019/20`` and ``2019-2020`` are accepted as ``2019-20``. Raises :class:`InvalidYearError`
    listing the valid years.
    """
    if year is None or not str(year).strip():
        return None
    valid = valid_years()
    listed = ", ".join(valid)
    m = _YEAR.match(str(year))
    normal = None
    if m:
        start, end = int(m.group(1)), int(m.group(2)[-2:])
        if end == (start + 1) % 100:
            normal = f"{start}-{end:02d}"
    if normal is None:
        msg = f"--year {year!r} is not a financial year"
        raise InvalidYearError(
            msg,
            f"the form YYYY-YY with consecutive years, e.g. 2019-20, one of: {listed}",
            repr(year),
            "Give one of those years, or leave out --year for the latest year of each indicator.",
        )
    if normal not in valid:
        msg = f"--year {normal}: the data hold no figures for that year"
        raise InvalidYearError(
            msg,
            f"one of {listed}",
            normal,
            "Give one of those years, or leave out --year for the latest year of each indicator.",
        )
    return normal


def profile_codes() -> list[str]:
    """Councils with a complete neighbour profile (the ``council_profile`` table)."""
    from asc_evidence.build import load
    from asc_evidence.stats.neighbours import DEFAULT_WEIGHTS

    profile = load("council_profile")
    return sorted(profile.set_index("council_code")[list(DEFAULT_WEIGHTS)].dropna().index)


def check_neighbours(n: int, council: Council | None = None, *, model: bool = True) -> int:
    """``n`` in 1..(number of councils with a profile - 1); the council must have a profile.

    ``model=False`` (a neighbour file is given) skips the profile-membership check.
    """
    codes = profile_codes()
    top = len(codes) - 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= top:
        msg = f"--neighbours {n}"
        raise InvalidOptionError(
            msg,
            f"a whole number from 1 to {top} (the other councils with a neighbour profile)",
            str(n),
            "Give a number in that range; 15 is the default.",
        )
    if model and council is not None and council.code not in codes:
        msg = f"{council.name} ({council.code}) has no neighbour profile"
        raise InvalidOptionError(
            msg,
            "a council in the council_profile table",
            "no complete profile row",
            "Supply your own neighbours with --neighbour-file.",
        )
    return n


def _council_label(code: str) -> str:
    names = register_by_code()["name"]
    return f"{names.get(code, code)} ({code})"


def check_neighbour_file(
    path: Path | str | None, councils: Iterable[Council], n: int
) -> tuple[Path | None, dict[str, str], list[str]]:
    """Read and check a user neighbour file for the given councils.

    Returns ``(absolute path, skipped, warnings)``. With one council, a missing row is an error;
    with several (``--all``), councils without usable rows are returned in ``skipped`` and the run
    goes on for the others. Codes that are not councils are an error when no row is usable and a
    warning naming them otherwise.
    """
    from asc_evidence.stats.neighbours import load_neighbour_file

    if path is None or not str(path).strip():
        return None, {}, []
    path = Path(path).expanduser().resolve()
    df = load_neighbour_file(path, valid_codes=None, resolve_names=True, drop_self=False)
    valid = set(register()["code"])
    codes = pd.concat([df["council_code"], df["neighbour_code"]])
    strangers = sorted(set(codes) - valid)
    good = df[df["council_code"].isin(valid) & df["neighbour_code"].isin(valid)]
    shown = f"{strangers[:10]}{' ...' if len(strangers) > 10 else ''}"
    if good.empty:
        msg = (
            f"Neighbour file {path.name}: expected ONS codes of councils with social care "
            f"responsibility (see `asc-evidence councils`); found only codes that are not: {shown}. "
            "Use upper-tier (county, unitary, metropolitan, London borough) codes."
        )
        raise NeighbourFileError(msg)
    warnings = []
    if strangers:
        warnings.append(
            f"neighbour file {path.name}: ignoring {len(strangers)} code(s) that are not councils "
            f"with social care responsibility: {shown}"
        )
    councils = list(councils)
    skipped: dict[str, str] = {}
    for c in councils:
        rows = good[good["council_code"] == c.code]
        others = rows[rows["neighbour_code"] != c.code]
        if rows.empty:
            listed = sorted(set(good["council_code"]))
            sample = ", ".join(_council_label(x) for x in listed[:5])
            problem = (
                f"Neighbour file {path.name} has no row for {c.name} ({c.code}): expected rows with "
                f"council_code {c.code} (or the name {c.name}); found rows for {len(listed)} "
                f"other council(s): {sample}{' ...' if len(listed) > 5 else ''}. "
                "Add rows for this council or choose a council the file covers."
            )
        elif others.empty:
            problem = (
                f"Neighbour file {path.name} lists only {c.name} ({c.code}) itself as its neighbour: "
                f"expected at least one other council; found {len(rows)} self row(s). "
                "Add its neighbours' codes."
            )
        else:
            if len(others) > n and len(councils) == 1:
                warnings.append(
                    f"neighbour file {path.name} lists {len(others)} neighbours for {c.name}; "
                    f"--neighbours {n} keeps the first {n} (by rank, else file order)"
                )
            continue
        if len(councils) == 1:
            raise NeighbourFileError(problem)
        skipped[c.code] = problem
    if councils and len(skipped) == len(councils):
        msg = (
            f"Neighbour file {path.name}: expected rows for the councils asked for; found rows for "
            f"none of them ({len(set(good['council_code']))} councils listed). Check the file."
        )
        raise NeighbourFileError(msg)
    return path, skipped, warnings


def check_out(out: Path | str, codes: Iterable[str] = ()) -> Path:
    """``out`` is (or can be created as) a writable folder and ``out/<code>`` is not a file."""
    out = Path(out).expanduser()
    todo = "Choose a folder you can write to with --out (it is created if missing)."
    if out.exists() and not out.is_dir():
        msg = f"--out {out}"
        raise InvalidOptionError(msg, "a folder for the reports", "a file with that name", todo)
    probe_in = out
    while not probe_in.exists():
        if probe_in.parent == probe_in:
            break
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        msg = f"--out {out}"
        raise InvalidOptionError(msg, "a folder path", f"{probe_in} is a file, not a folder", todo)
    try:
        tempfile.TemporaryDirectory(dir=probe_in, prefix=".asc-evidence-probe-").cleanup()
    except OSError as exc:
        msg = f"--out {out}"
        raise InvalidOptionError(
            msg,
            "a folder you can write to",
            f"{probe_in} is not writable ({exc.strerror or type(exc).__name__})",
            todo,
        ) from exc
    for code in codes:
        if (out / code).exists() and not (out / code).is_dir():
            msg = f"--out {out}"
            raise InvalidOptionError(
                msg,
                f"{out / code} to be a report folder",
                "a file with that name",
                "Move that file away or choose another --out.",
            )
    return out


def check_report_inputs(
    council: str | Council | None = None,
    *,
    all_councils: bool = False,
    codes: Iterable[str] | None = None,
    year: str | None = None,
    neighbours: int = 15,
    neighbour_file: Path | str | None = None,
    out: Path | str = Path("reports"),
) -> ReportInputs:
    """Run every check for ``asc-evidence report``; cheapest first, first failure raises."""
    from asc_evidence.errors import UserInputError

    if council and all_councils:
        msg = "report"
        raise UserInputError(
            msg, "either --council NAME or --all", "both", "Give only one of them."
        )
    if all_councils:
        todo = list(codes) if codes else current()["code"].tolist()
        chosen = tuple(require_current(c) for c in todo)
    elif council:
        chosen = (require_current(council.code if isinstance(council, Council) else str(council)),)
    else:
        msg = "report"
        raise UserInputError(
            msg,
            "--council NAME (or code) or --all",
            "neither",
            "For example: asc-evidence report --council Swindon.",
        )
    out_path = check_out(out, [c.code for c in chosen])
    n = check_neighbours(
        neighbours, chosen[0] if len(chosen) == 1 else None, model=not neighbour_file
    )
    nb_path, skipped, warnings = check_neighbour_file(neighbour_file, chosen, n)
    if not neighbour_file and len(chosen) > 1:
        have = set(profile_codes())
        skipped.update(
            {
                c.code: f"{c.name} ({c.code}) has no neighbour profile"
                for c in chosen
                if c.code not in have
            }
        )
    return ReportInputs(
        councils=chosen,
        year=check_year(year),
        neighbours=n,
        neighbour_file=nb_path,
        out=out_path,
        skipped=skipped,
        warnings=tuple(warnings),
    )
