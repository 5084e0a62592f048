"""``tspcm repair FILE|FOLDER...``: make run files left by a dead writer (or damaged) readable by plain
h5py and h5dump again, keeping every row that can be read (see `tspcm_lab.store.repair`).

Each file is repaired in a child process (`tspcm_lab.isolated`), so a file that makes the HDF5 library
hang or crash is named and the others are repaired. Exit code 0 when every file is whole (repaired or
needing nothing), 1 when a file could not be repaired or lost something, 2 when a path does not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: longest time one repair (read, copy, verify with h5py and h5dump) may take (s), plus 1 s per 2 MB
REPAIR_TIMEOUT_S = 300.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "repair",
        help="make interrupted or damaged run files readable again, keeping every readable row",
        description="For each run file left open by a writer that died (kill -9, crash, power cut) or "
        "damaged: copy every readable object into a fresh file, trim the columns to equal "
        "length, set status 'interrupted' (with the time of the writer's last flush) for a run "
        "that was running, and check that plain h5py and h5dump read all of it before it replaces "
        "the original (kept as FILE.bak). Files that need nothing are left unchanged. Refuses "
        "runs still being written.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE|FOLDER", help="run files, or folders of them")
    parser.add_argument("-r", "--recursive", action="store_true", help="also search subfolders")
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="do not keep the original as FILE.bak (it is kept anyway when something was lost)",
    )
    parser.set_defaults(func=run)


def repair_timeout_s(path: str) -> float:
    from tspcm_lab.isolated import size_timeout_s

    return size_timeout_s(path, REPAIR_TIMEOUT_S, 2e6)


#: outcomes of one file
WHOLE, PARTLY, FAILED = "whole", "partly repaired", "failed"


def repair_one(job: tuple[str, bool]) -> tuple[str, str]:
    """(outcome, one line) for one file; runs in a child process."""
    from tspcm_lab.store import RunFileError, repair_run

    path, backup = job
    try:
        result = repair_run(path, backup=backup)
    except RunFileError as exc:
        return FAILED, str(exc)
    except OSError as exc:  # e.g. no room for the repaired copy
        return FAILED, f"{path}: cannot write the repaired copy next to it ({exc.strerror or exc})"
    return (WHOLE if result.ok else PARTLY), str(result)


def _remove_leftovers(job: tuple[str, bool], pid: int) -> None:
    """A worker lost in the middle of a repair leaves its temporary files next to the run file."""
    path = Path(job[0])
    for name in (f".{path.name}.repair-{pid}", f".{path.name}.repair-src-{pid}"):
        (path.parent / name).unlink(missing_ok=True)


def run(args) -> int:
    from tspcm_lab.cli import CliError
    from tspcm_lab.commands import run_files_or_exit
    from tspcm_lab.isolated import Failed, map_isolated

    files = run_files_or_exit(args.files, recursive=args.recursive)
    jobs = [(path, not args.no_backup) for path in files]
    outcomes: list[tuple[str, str]] = [(FAILED, "")] * len(jobs)
    for index, result in map_isolated(
        repair_one, jobs, timeout_s=lambda job: repair_timeout_s(job[0]), on_lost=_remove_leftovers
    ):
        if isinstance(result, Failed):
            result = (FAILED, f"{files[index]}: {result.reason}; left as it was")
        outcomes[index] = result
    single = len(args.files) == 1 and not Path(args.files[0]).is_dir()
    if single and outcomes[0][0] == FAILED:
        raise CliError(outcomes[0][1])
    for outcome, line in outcomes:
        if outcome == FAILED:
            print(f"tspcm repair: error: {line}", file=sys.stderr)
        else:  # partly repaired: what was readable is kept, the line names the rest
            print(line)
    return 0 if all(outcome == WHOLE for outcome, _ in outcomes) else 1
