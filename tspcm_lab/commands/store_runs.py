"""``tspcm runs FOLDER|FILE...``: a table of run files: start, procedure, status, the key result, title,
seed and file (``--long``: rows, key parameters, bench, path and what went wrong as well).

The key result is what ``tspcm analyze`` found (its stored ``/analysis``), or, for a run not analysed
yet, the same extractors run now. Values carry SI prefixes ("Vth 1.781 V", "30 µS").

Each file is read in a child process (`tspcm_lab.isolated`): a damaged file that makes the HDF5 library
hang or crash is listed as ``unreadable`` with the reason, and the others are listed as usual.
Exit code 0 when the list was made (unreadable files are part of it), 1 when a file named on its own
cannot be read, 2 when a path does not exist.
"""

from __future__ import annotations

from pathlib import Path

#: column widths of the short table (longer text is cut with "…")
WIDTHS = {"start": 16, "procedure": 19, "status": 11, "result": 38, "title": 20, "seed": 5}
#: longest time reading one file (summary and key result) may take before it counts as hung (s), plus
#: 1 s per 5 MB
READ_TIMEOUT_S = 60.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="list the run files in folders (or describe single run files)",
        description="List run files as a table: start time, procedure, status, the key result (from the "
        "run's stored analysis, else computed now), title, seed and file. A run whose writer "
        "died reads as 'interrupted'. --long adds the rows, key parameters, bench and path.",
    )
    parser.add_argument("paths", nargs="+", metavar="FOLDER|FILE", help="folders of runs or run files")
    parser.add_argument("-r", "--recursive", action="store_true", help="also search subfolders")
    parser.add_argument(
        "-l", "--long", action="store_true", help="every detail: rows, key parameters, bench, full path, errors"
    )
    parser.set_defaults(func=run)


def read_timeout_s(path: str) -> float:
    from tspcm_lab.isolated import size_timeout_s

    return size_timeout_s(path, READ_TIMEOUT_S, 5e6)


def listing(path: str) -> tuple[dict, dict]:
    """(summary, table row) of one file; runs in a child process."""
    from tspcm_lab.store.reader import summarize

    summary = summarize(path)
    return summary, describe(summary)


def run(args) -> int:
    from tspcm_lab.cli import CliError
    from tspcm_lab.commands import run_files_or_exit
    from tspcm_lab.isolated import Failed, map_isolated
    from tspcm_lab.store.reader import unreadable_row

    files = run_files_or_exit(args.paths, recursive=args.recursive, required=False)
    if not files:
        print("no run files found")
        return 0
    found: list[tuple[dict, dict]] = [({}, {})] * len(files)
    for index, result in map_isolated(listing, files, timeout_s=read_timeout_s):
        if isinstance(result, Failed):
            summary = unreadable_row(files[index], f"{files[index]}: {result.reason}")
            result = summary, describe(summary)
        found[index] = result
    single = len(args.paths) == 1 and not Path(args.paths[0]).is_dir()
    if single and found[0][0]["status"] == "unreadable":
        raise CliError(found[0][0]["error"])
    found.sort(key=lambda item: (item[0]["start_time"], item[0]["path"]))
    rows = [row for _, row in found]
    print("\n".join(format_long(rows) if args.long else format_table(rows)))
    if not args.long:
        for row in rows:
            if row["error"]:
                print(f"  {row['error']}")
    return 0


def describe(row: dict) -> dict:
    """One run as the table shows it (the key result and the bench read from the file)."""
    from tspcm_lab.keyfigures import figures, run_features
    from tspcm_lab.store import open_run

    out = {
        "start": _start(row.get("start_time", "")),
        "procedure": row.get("procedure", ""),
        "status": row.get("status", ""),
        "title": row.get("title", ""),
        "seed": "",
        "rows": row.get("n_rows", 0),
        "parameters": row.get("parameters", ""),
        "path": row.get("path", ""),
        "error": row.get("error", ""),
        "result": "",
        "results": "",
        "bench": "",
    }
    out["file"] = Path(out["path"]).name
    if out["error"]:
        return out
    try:
        opened = open_run(out["path"])
        out["seed"] = "" if opened.seed is None else str(opened.seed)
        bench = opened.bench.get("bench", "")
        out["bench"] = str(bench.get("name", "") if isinstance(bench, dict) else bench)
    except Exception:  # noqa: BLE001 - listed already; the details stay empty
        return out
    if out["status"] in ("completed", "aborted", "interrupted", "imported") and out["rows"]:
        try:
            procedure, values, units, source = run_features(out["path"])
            out["result"] = figures(procedure, values, units, limit=2)
            out["results"] = figures(procedure, values, units) + ("" if source == "stored" else " (computed now)")
        except Exception as exc:  # noqa: BLE001 - a run that cannot be analysed still lists
            out["results"] = f"no analysis: {exc}"
    return out


def _start(text: str) -> str:
    """ "2026-12-05T19:28:33.798+00:00" -> "2026-12-05 19:28" in local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return text or ""


def _cut(text: str, width: int) -> str:
    text = str(text or "")
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[dict]) -> list[str]:
    """The short table: fixed columns, then the file name (never cut)."""
    names = list(WIDTHS) + ["file"]
    head = "  ".join(n.ljust(WIDTHS[n]) if n in WIDTHS else n for n in names)
    lines = [head, "  ".join("-" * WIDTHS[n] for n in WIDTHS) + "  " + "-" * 4]
    for row in rows:
        lines.append("  ".join(_cut(row[n], WIDTHS[n]).ljust(WIDTHS[n]) for n in WIDTHS) + "  " + row["file"])
    return lines


def format_long(rows: list[dict]) -> list[str]:
    """Every detail, one block per run."""
    lines = []
    for row in rows:
        lines.append(f"{row['path']}")
        for label, key in (
            ("procedure", "procedure"),
            ("status", "status"),
            ("started", "start"),
            ("title", "title"),
            ("seed", "seed"),
            ("bench", "bench"),
            ("rows", "rows"),
            ("key parameters", "parameters"),
            ("results", "results"),
            ("error", "error"),
        ):
            if row.get(key) not in ("", None):
                lines.append(f"  {label:15s} {row[key]}")
    return lines
