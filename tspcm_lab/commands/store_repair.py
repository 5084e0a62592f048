"""``tspcm repair FILE...``: make run files left by a dead writer readable by h5py/h5dump again."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "repair", help="clear the consistency flag of interrupted run files and mark them interrupted",
        description="For each run file left open by a writer that died (kill -9, crash, power cut): "
                    "clear HDF5's 'open for write' flag (h5clear -s), set status 'interrupted' with "
                    "the time of the writer's last flush, and trim the columns to equal length. "
                    "Files that need nothing are left unchanged. Refuses runs still being written.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="run files")
    parser.set_defaults(func=run)


def run(args) -> int:
    from tspcm_lab.cli import CliError
    from tspcm_lab.store import RunFileError, repair_run

    failures = []
    for path in args.files:
        try:
            print(repair_run(path))
        except RunFileError as exc:
            failures.append(str(exc))
    if len(failures) == 1 and len(args.files) == 1:
        raise CliError(failures[0])
    for message in failures:
        print(f"tspcm repair: error: {message}", file=sys.stderr)
    return 1 if failures else 0
