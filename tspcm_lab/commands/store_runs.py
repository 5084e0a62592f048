"""``tspcm runs FOLDER|FILE...``: list run files with procedure, status, key parameters and start."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs", help="list the run files in folders (or describe single run files)",
        description="List run files: procedure, status, start time, rows, key parameters, path. "
                    "A run whose writer died reads as 'interrupted'.")
    parser.add_argument("paths", nargs="+", metavar="FOLDER|FILE", help="folders of runs or run files")
    parser.add_argument("-r", "--recursive", action="store_true", help="also search subfolders")
    parser.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from tspcm_lab.cli import CliError
    from tspcm_lab.store import RunFileError, list_runs, open_run

    frames = []
    try:
        for path in map(Path, args.paths):
            if path.is_dir():
                frames.append(list_runs(path, recursive=args.recursive))
            else:
                frames.append(pd.DataFrame([open_run(path).summary()]))
    except RunFileError as exc:
        raise CliError(str(exc)) from None
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        print("no run files found")
        return 0
    shown = table[["procedure", "status", "start_time", "n_rows", "parameters", "path"]]
    print(shown.to_string(index=False))
    for _, row in table[table["error"] != ""].iterrows():
        print(f"  {row['error']}")
    return 0
