"""``tspcm analyze PATH...``: extract features from run files, write them back, build a summary table."""

from __future__ import annotations

import os
import sys

HELP = "extract thresholds, plasticity fits, savings, drift ... from run files"
#: below this many files a process pool costs more to start than it saves
POOL_MIN_FILES = 16


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help=HELP,
        description="Analyse run files (folders are searched recursively for .h5/.hdf5): each run's "
        "features are written back under /analysis/<procedure> and collected in a summary "
        "table with one row per run and feature. See docs/analysis.md.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="run files or folders")
    p.add_argument(
        "--summary",
        metavar="FILE",
        help="write the summary table to FILE.csv or FILE.parquet "
        "(merged with an existing one: re-analysed runs replace their old rows)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes to use (default: the number of CPUs; 1 = in this process)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://127.0.0.1:8786 (then --workers is ignored)",
    )
    p.add_argument("--report", metavar="DIR", help="write a self-contained HTML report to DIR/report.html")
    p.add_argument("--no-write", action="store_true", help="do not write /analysis into the run files")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args) -> int:
    from tspcm_lab.analysis.batch import analyze_paths, find_run_files, write_summary
    from tspcm_lab.cli import CliError

    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be >= 1, got {args.workers}", 2)
    if args.summary and not args.summary.lower().endswith((".csv", ".parquet")):
        raise CliError(f"--summary must end in .csv or .parquet, got {args.summary!r}", 2)
    try:
        files = find_run_files(args.paths)
    except FileNotFoundError as exc:
        raise CliError(str(exc), 2) from None
    if not files:
        raise CliError("no .h5/.hdf5 run files under " + ", ".join(args.paths), 2)
    workers = args.workers or os.cpu_count() or 1
    if len(files) < POOL_MIN_FILES and args.workers is None:
        workers = 1
    result = analyze_paths(
        files, workers=workers, dask_address=args.dask, write=not args.no_write, progress=not args.quiet
    )
    for path, message in result.warnings:
        print(f"tspcm analyze: warning: {path}: {message}", file=sys.stderr)
    for path, message in result.errors:
        print(f"tspcm analyze: failed: {path}: {message}", file=sys.stderr)
    table = result.table
    if args.summary:
        write_summary(table, args.summary)
    elif len(table):
        for path, rows in table.groupby("path", sort=True):
            print(f"{path} ({rows['procedure'].iloc[0]})")
            for _, r in rows.iterrows():
                print(f"  {r['feature']:32s} {r['value']:<14.6g} {r['units']}")
    if args.report:
        from tspcm_lab.startup import starting_up

        with starting_up():  # matplotlib's modules kept from the collector, as a run's start-up keeps its imports
            from tspcm_lab.analysis import plots  # noqa: F401
            from tspcm_lab.report import write_report

        out = write_report(files, args.report, table=table, errors=result.errors)
        print(f"report: {out}")
    n_ok = result.n_files - len(result.errors)
    print(
        f"analyzed {n_ok} of {result.n_files} files, {len(table)} features"
        + (f", {len(result.errors)} failed" if result.errors else "")
        + (f" -> {args.summary}" if args.summary else "")
    )
    return 1 if result.errors else 0
