"""Command line: ``asc-evidence data build|status``, ``asc-evidence councils``, ``asc-evidence report``.

Bad input never shows a traceback: every command runs inside :func:`_guard`, which prints an
:class:`AscEvidenceError` as one paragraph and wraps any other exception in a short message that
points to ``--debug`` (``asc-evidence --debug COMMAND ...`` shows the full traceback).
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from asc_evidence.errors import AscEvidenceError, UserInputError

app = typer.Typer(
    help="Official adult social care statistics -> council benchmarking evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="Acquire official files and build the processed tables.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

_STATE = {"debug": False}


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when something fails.")
    ] = False,
) -> None:
    """Official adult social care statistics -> council benchmarking evidence."""
    _STATE["debug"] = debug


def _fail(exc: BaseException) -> None:
    if _STATE["debug"]:
        typer.echo("".join(traceback.format_exception(exc)), err=True)
    text = " ".join(str(exc).split("\n\n"))  # one paragraph
    typer.secho(f"error: {text}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; user errors become one paragraph, anything else a pointer to ``--debug``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except AscEvidenceError as exc:
            _fail(exc)
        except Exception as exc:
            if _STATE["debug"]:
                raise
            summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            typer.secho(
                f"error: asc-evidence stopped on an unexpected problem ({summary}). This is "
                "probably a bug rather than your input. Rerun with `asc-evidence --debug "
                f"{func.__name__.removesuffix('_cmd').replace('_', ' ')} ...` to see the "
                "traceback, and report it with that output.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(code=1) from None

    return wrapper


def _settling_echo(message: str) -> None:
    """Print a build's progress line; each line ends a stage whose tables this command keeps, so
    they are left out of later garbage collections (:func:`asc_evidence.common.freeze_live_objects`)."""
    from asc_evidence.common import freeze_live_objects

    typer.echo(message)
    freeze_live_objects()


@data_app.command("build")
@_guard
def data_build(
    force: Annotated[bool, typer.Option(help="Rebuild even when inputs are unchanged.")] = False,
    only: Annotated[
        list[str] | None, typer.Option(help="Build only these tables (repeatable).")
    ] = None,
    evidence: Annotated[
        bool,
        typer.Option(
            help="Then compute the national evidence tables (`data evidence`); skipped with --only."
        ),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes building tables at once (default 2; 1 on a one-core machine); with "
            "2, the evidence stage makes the indicators other than delays in a second process.",
        ),
    ] = None,
) -> None:
    """Build every processed table from the official files (skips tables whose inputs are
    unchanged), then the national evidence tables the reports read (skipped when fresh)."""
    import time

    from asc_evidence import evidence as evidence_mod
    from asc_evidence.build import build
    from asc_evidence.config import settings

    t0 = time.perf_counter()
    result = build(only=only or None, force=force, progress=_settling_echo, workers=workers)
    built = sum(v == "built" for v in result.values())
    typer.echo(
        f"{len(result)} tables ({built} built, {len(result) - built} up to date) in "
        f"{time.perf_counter() - t0:.1f}s -> {settings().processed}"
    )
    if evidence and not only:
        t1 = time.perf_counter()
        state = evidence_mod.build(force=force, progress=_settling_echo, workers=workers)
        typer.echo(
            f"evidence tables {state} in {time.perf_counter() - t1:.1f}s -> {evidence_mod.folder()}"
        )
    elif only:
        typer.echo(
            f"evidence tables: {evidence_mod.status()} (run `asc-evidence data evidence` after "
            "building the remaining tables)"
        )


@data_app.command("evidence")
@_guard
def data_evidence(
    force: Annotated[bool, typer.Option(help="Recompute even when fresh.")] = False,
    describe: Annotated[
        bool, typer.Option(help="Print each table (one row per, columns) and stop.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="2 (the default; 1 on a one-core machine): the indicators other than delays "
            "are made in a second process meanwhile.",
        ),
    ] = None,
) -> None:
    """Compute the national evidence tables (every indicator, funnel, interval, trend, neighbour
    set, projection and market table) from the processed tables; skipped when fresh."""
    import time

    from asc_evidence import evidence as evidence_mod

    if describe:
        typer.echo(evidence_mod.describe())
        return
    t0 = time.perf_counter()
    state = evidence_mod.build(force=force, progress=_settling_echo, workers=workers)
    typer.echo(
        f"evidence tables {state} in {time.perf_counter() - t0:.1f}s -> {evidence_mod.folder()}"
    )


@data_app.command("status")
@_guard
def data_status(
    verify: Annotated[bool, typer.Option(help="Check every found file's sha256.")] = True,
) -> None:
    """Which official files are found where (mirror, cache, missing), with checksum state.

    Problems come first: a checksum mismatch, or a file that a processed table needs but that is
    missing, makes the command exit with status 1. Registry files no table reads (official releases
    the mirror lacks) are listed as "not needed" and do not fail the status.
    """
    from collections import Counter

    from asc_evidence.build import all_specs
    from asc_evidence.config import settings
    from asc_evidence.fetch import locate, registry, verified_sha256

    cfg = settings()
    needed = {key for spec in all_specs() for key in spec.inputs}
    counts: dict[str, Counter[str]] = {}
    problems: list[str] = []
    optional: list[str] = []
    for key, rel in sorted(registry().items()):
        path, where = locate(key)
        state = where
        if path is not None and verify and rel.sha256:
            ok = verified_sha256(path, cfg) == rel.sha256
            state += " ok" if ok else " CHECKSUM MISMATCH"
            if not ok:
                problems.append(
                    f"  checksum mismatch: {path} (expected sha256 {rel.sha256}); "
                    f"replace it with the official file ({rel.official_source})"
                )
        elif path is not None and not rel.sha256:
            state += " (no registered hash)"
        if where == "missing":
            line = f"  missing: {key}  (official source: {rel.official_source})"
            if key in needed:
                problems.append(line)
            else:
                state += " (not needed)"
                optional.append(line)
        counts.setdefault(rel.dataset, Counter())[state] += 1
    if problems:
        typer.secho(
            f"{len(problems)} problem(s): the build cannot use these files as they are.",
            fg=typer.colors.RED,
            err=True,
        )
        typer.echo("\n".join(problems) + "\n", err=True)
    typer.echo(f"mirror:    {cfg.mirror or '(none configured: set ASC_EVIDENCE_MIRROR)'}")
    typer.echo(f"cache:     {cfg.cache}\nprocessed: {cfg.processed}\n")
    for dataset, c in counts.items():
        typer.echo(f"{dataset:18s} " + ", ".join(f"{n} {s}" for s, n in sorted(c.items())))
    if optional:
        typer.echo("\nnot in the mirror, not needed by any table:\n" + "\n".join(optional))
    if problems:
        raise typer.Exit(code=1)


@data_app.command("tables")
@_guard
def data_tables() -> None:
    """Each processed table: rows, periods and number of councils (ONS E06/E08/E09/E10 codes)."""
    from asc_evidence.build import load, read_manifest

    manifest = read_manifest()
    if not manifest:
        _fail(AscEvidenceError("no processed tables yet: run `asc-evidence data build`"))
    typer.echo(f"{'table':32s} {'rows':>9s}  {'periods':24s} councils")
    for name in sorted(manifest):
        df = load(name)
        code = "council_code" if "council_code" in df else None
        councils = (
            df[code].astype(str).str.match(r"^E(06|08|09|10)").groupby(df[code]).any().sum()
            if code
            else 0
        )
        periods = sorted(df["period"].dropna().astype(str).unique()) if "period" in df else []
        span = f"{periods[0]}..{periods[-1]} ({len(periods)})" if periods else "-"
        typer.echo(f"{name:32s} {len(df):9,d}  {span:24s} {councils}")


@app.command("councils")
@_guard
def councils_cmd(
    query: Annotated[
        str | None, typer.Argument(help="Part of a name or a code; omit to list all.")
    ] = None,
    include_abolished: Annotated[
        bool, typer.Option("--all", help="Include abolished councils.")
    ] = False,
) -> None:
    """List councils with adult social care responsibility, or search them."""
    from asc_evidence import councils

    if query:
        df = councils.search(query)
        if df.empty:
            try:
                c = councils.lookup(query)
            except AscEvidenceError as exc:
                _fail(exc)
            df = councils.register()[councils.register()["code"] == c.code]
    else:
        df = councils.register() if include_abolished else councils.current()
    for r in df.itertuples():
        status = f" (abolished {r.valid_to})" if r.valid_to else ""
        typer.echo(f"{r.code}  {r.nhs_code:>5}  {r.name:40s} {r.type:22s} {r.region}{status}")
    typer.echo(f"{len(df)} councils")


@app.command("report")
@_guard
def report_cmd(
    council: Annotated[
        str | None, typer.Option(help="Council name or code, e.g. Swindon or E06000030.")
    ] = None,
    all_councils: Annotated[
        bool, typer.Option("--all", help="Report every current council, in parallel.")
    ] = False,
    year: Annotated[
        str | None,
        typer.Option(
            help="Financial year to benchmark, e.g. 2019-20 (default: latest per indicator)."
        ),
    ] = None,
    neighbours: Annotated[int, typer.Option(help="Number of statistical neighbours.")] = 15,
    neighbour_file: Annotated[
        Path | None,
        typer.Option(
            help="CSV/JSON of a user-supplied neighbour list (CIPFA, NHS England, Oflog)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("reports"),
    workers: Annotated[int, typer.Option(help="Parallel worker processes for --all.")] = 2,
) -> None:
    """Run the notebooks for a council and write executed notebooks plus one HTML report.

    Every input is checked before a notebook starts. The report is written to a hidden folder and
    replaces ``OUT/<code>`` only when complete: a failed run leaves the previous report unchanged.
    """
    from asc_evidence import report, validate

    inputs = validate.check_report_inputs(
        council,
        all_councils=all_councils,
        year=year,
        neighbours=neighbours,
        neighbour_file=neighbour_file,
        out=out,
    )
    if not isinstance(workers, int) or workers < 1:
        msg = f"--workers {workers}"
        raise UserInputError(msg, "a whole number of at least 1", str(workers), "Use 1 or 2.")
    for message in inputs.warnings:
        typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    for message in inputs.skipped.values():
        typer.secho(f"skipped: {message}", fg=typer.colors.YELLOW, err=True)
    if not all_councils:  # --all builds the evidence tables first when they are not fresh
        for message in report._evidence_warning():
            typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    common = {
        "out": inputs.out,
        "year": inputs.year,
        "neighbours": inputs.neighbours,
        "neighbour_file": inputs.neighbour_file,
        "progress": typer.echo,
        "warn": lambda _message: None,  # already printed above
    }
    if all_councils:
        report.ensure_evidence(progress=typer.echo)
        index = report.run_all(workers=workers, **common)
        typer.echo(f"index: {index}")
    else:
        html = report.run_council(inputs.councils[0], **common)
        typer.echo(f"report: {html}")


if __name__ == "__main__":
    app()
