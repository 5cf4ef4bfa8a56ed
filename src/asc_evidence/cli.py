"""Command line: ``asc-evidence data build|status``, ``asc-evidence councils``, ``asc-evidence report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asc_evidence.errors import AscEvidenceError

app = typer.Typer(
    help="Official adult social care statistics -> council benchmarking evidence.",
    no_args_is_help=True,
)
data_app = typer.Typer(
    help="Acquire official files and build the processed tables.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@data_app.command("build")
def data_build(
    force: Annotated[bool, typer.Option(help="Rebuild even when inputs are unchanged.")] = False,
    only: Annotated[
        list[str] | None, typer.Option(help="Build only these tables (repeatable).")
    ] = None,
) -> None:
    """Build every processed table from the official files (skips tables whose inputs are unchanged)."""
    import time

    from asc_evidence.build import build
    from asc_evidence.config import settings

    t0 = time.perf_counter()
    try:
        result = build(only=only or None, force=force, progress=typer.echo)
    except AscEvidenceError as exc:
        _fail(exc)
    built = sum(v == "built" for v in result.values())
    typer.echo(
        f"{len(result)} tables ({built} built, {len(result) - built} up to date) in "
        f"{time.perf_counter() - t0:.1f}s -> {settings().processed}"
    )


@data_app.command("status")
def data_status(
    verify: Annotated[bool, typer.Option(help="Check every found file's sha256.")] = True,
) -> None:
    """Which official files are found where (mirror, cache, missing), with checksum state."""
    from collections import Counter

    from asc_evidence.config import settings
    from asc_evidence.fetch import locate, registry, verified_sha256

    cfg = settings()
    typer.echo(f"mirror:    {cfg.mirror or '(none configured: set ASC_EVIDENCE_MIRROR)'}")
    typer.echo(f"cache:     {cfg.cache}\nprocessed: {cfg.processed}\n")
    counts: dict[str, Counter[str]] = {}
    problems: list[str] = []
    for key, rel in sorted(registry().items()):
        path, where = locate(key)
        state = where
        if path is not None and verify and rel.sha256:
            ok = verified_sha256(path, cfg) == rel.sha256
            state += " ok" if ok else " CHECKSUM MISMATCH"
            if not ok:
                problems.append(f"  checksum mismatch: {path}")
        elif path is not None and not rel.sha256:
            state += " (no registered hash)"
        if where == "missing":
            problems.append(f"  missing: {key}  <- {rel.url or rel.page}")
        counts.setdefault(rel.dataset, Counter())[state] += 1
    for dataset, c in counts.items():
        typer.echo(f"{dataset:18s} " + ", ".join(f"{n} {s}" for s, n in sorted(c.items())))
    if problems:
        typer.echo("\n" + "\n".join(problems))


@data_app.command("tables")
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
    """Run the notebooks for a council and write executed notebooks plus one HTML report."""
    from asc_evidence import councils, report

    if not council and not all_councils:
        _fail(ValueError("give --council NAME or --all"))
    try:
        if all_councils:
            index = report.run_all(
                out=out,
                year=year,
                neighbours=neighbours,
                neighbour_file=neighbour_file,
                workers=workers,
                progress=typer.echo,
            )
            typer.echo(f"index: {index}")
        else:
            c = councils.lookup(
                council or ""
            )  # unknown council fails here, before any notebook runs
            html = report.run_council(
                c,
                out=out,
                year=year,
                neighbours=neighbours,
                neighbour_file=neighbour_file,
                progress=typer.echo,
            )
            typer.echo(f"report: {html}")
    except AscEvidenceError as exc:
        _fail(exc)


if __name__ == "__main__":
    app()
