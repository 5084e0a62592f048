"""Kill -9 real `tspcm run` processes at random moments, repair, and check that nothing seen was lost.

    python checks/crash_campaign.py [--kills 20] [--seed 1] [--procedures endurance retention pattern]

For each procedure, ``--kills`` times: start ``tspcm run <procedure>`` on the simulated bench (a run long
enough not to end by itself), read the run file with a SWMR reader in this process every ~0.2 s while
it is written, and at a random moment (uniform over a window after the start, so some kills land before
the file exists or before it goes live) send SIGKILL right after a read. Then:

1. ``tspcm repair FILE`` (the real command, in its own process) must exit 0;
2. a process that never imports tspcm_lab opens the file with plain ``h5py.File(path, "r")``, reads every
   dataset in full and returns the columns: every row the SWMR reader saw before the kill must be there
   with the same values, and the status must be ``interrupted``;
3. ``h5dump`` of the whole file must exit 0.

Prints one line per kill and a table per procedure: kills, files, rows seen before the kill, rows after
the repair, rows lost (must be 0), failures. Exit code 1 if any check failed. tests/store/test_crash_repair.py
runs a few of these kills on every test run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TSPCM = Path(sys.executable).with_name("tspcm")

#: the runs: long enough that none ends within the kill window
RUNS = {
    "endurance": ["--sim", "--set", "cycles=1000000", "--set", "read_every=1"],
    "retention": ["--sim", "--set", "states=50", "--set", "reads=5000"],
    "pattern": ["--bench", "sim-4x4", "--set", "max_epochs=200"],
}
#: kill moments are uniform over 0.3 s .. this (s); a pattern run ends by itself (criterion reached)
#: after about 13 s: a moment past its end is drawn again
WINDOW_S = {"endurance": 15.0, "retention": 15.0, "pattern": 12.0}

#: reads a run file with h5py only (no tspcm_lab), every dataset in full; prints status and columns
PLAIN_READ = r"""
import json, sys, h5py
out = {}
with h5py.File(sys.argv[1], "r") as f:
    def read(name, obj):
        if isinstance(obj, h5py.Dataset):
            obj[()]
    f.visititems(read)
    status = f.attrs["status"]
    out["status"] = status.decode() if isinstance(status, bytes) else str(status)
    out["columns"] = {k: f["data"][k][()].tolist() for k in f["data"]}
print(json.dumps(out))
"""


@dataclass
class KillResult:
    procedure: str
    moment_s: float
    file: bool = False  #: the run file existed at the kill
    rows_seen: int = 0  #: rows the SWMR reader saw before the kill
    rows_after: int = 0  #: rows readable by plain h5py after the repair
    status: str = ""
    repair: str = ""  #: the repair command's output line
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return max(0, self.rows_seen - self.rows_after)


def _snapshot(path: Path) -> dict[str, np.ndarray] | None:
    """Every flushed row, read the way any SWMR reader would (the store's reader); None before the file
    can be read."""
    from tspcm_lab.store import open_run

    try:
        run = open_run(path)
        return {run.column_keys[label]: values for label, values in run.read_columns().items()}
    except Exception:  # noqa: BLE001 - not created yet, not live yet
        return None


def _closed_before_the_kill(path: Path) -> bool:
    """The writer closed the file (a final status, flags cleared) in the instant before the kill."""
    from tspcm_lab.store import open_run

    try:
        run = open_run(path)
        return run.consistent and run.status in ("completed", "failed", "aborted")
    except Exception:  # noqa: BLE001 - not readable as it is: repair's business
        return False


def kill_and_repair(
    procedure: str,
    moment_s: float,
    seed: int,
    folder: Path,
    after_rows: int = 0,
    timeout_s: float = 300.0,
    run_args: list[str] | None = None,
) -> KillResult:
    """One kill of a real `tspcm run` at ``moment_s`` seconds after its start (or, with ``after_rows``,
    after the reader first saw that many rows), then the checks. ``run_args`` replace ``RUNS[procedure]``."""
    result = KillResult(procedure, moment_s)
    path = folder / f"{procedure}-{seed}.h5"
    cmd = [str(TSPCM), "run", procedure, "--seed", str(seed), "-o", str(path)] + (run_args or RUNS[procedure])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.monotonic() if not after_rows else None
    give_up = time.monotonic() + timeout_s
    seen: dict[str, np.ndarray] | None = None
    try:
        while start is None or time.monotonic() - start < moment_s:
            if proc.poll() is not None:
                result.problems.append(f"the run ended by itself (exit {proc.returncode}) before the kill")
                return result
            if time.monotonic() > give_up:
                result.problems.append(f"no {after_rows} rows within {timeout_s:.0f} s")
                return result
            snap = _snapshot(path) if path.exists() else None
            if snap is not None:
                seen = snap
                if start is None and min((len(v) for v in snap.values()), default=0) >= after_rows:
                    start = time.monotonic()
            time.sleep(0.2 if start is None else min(0.2, max(0.0, moment_s - (time.monotonic() - start))))
        proc.send_signal(signal.SIGKILL)  # right after the last read: what the reader saw is the floor
    finally:
        proc.kill()
        proc.wait()
    result.file = path.exists()
    result.rows_seen = min((len(v) for v in seen.values()), default=0) if seen else 0
    if not result.file:
        return result
    if _closed_before_the_kill(path):
        result.problems.append("the run ended by itself (exit 0) before the kill: its file was closed")
        return result
    repair = subprocess.run([str(TSPCM), "repair", str(path)], capture_output=True, text=True, timeout=600)
    result.repair = (
        (repair.stdout + repair.stderr).strip().splitlines()[-1] if (repair.stdout + repair.stderr).strip() else ""
    )
    if repair.returncode != 0:
        result.problems.append(f"tspcm repair exit {repair.returncode}: {result.repair}")
        return result
    plain = subprocess.run([sys.executable, "-c", PLAIN_READ, str(path)], capture_output=True, text=True, timeout=600)
    if plain.returncode != 0:
        result.problems.append(f"plain h5py cannot read it: {plain.stderr.strip().splitlines()[-1:]}")
        return result
    got = json.loads(plain.stdout)
    result.status = got["status"]
    columns = {k: np.asarray(v) for k, v in got["columns"].items()}
    result.rows_after = min((len(v) for v in columns.values()), default=0)
    if result.status != "interrupted":
        result.problems.append(f"status {result.status!r}, not 'interrupted'")
    for key, values in (seen or {}).items():
        after = columns.get(key)
        n = len(values)
        if after is None or len(after) < n:
            result.problems.append(f"/data/{key}: {n} rows seen, {0 if after is None else len(after)} after repair")
        elif not np.array_equal(after[:n], values, equal_nan=True):
            result.problems.append(f"/data/{key}: values differ from what the reader saw")
    dump = (
        subprocess.run(["h5dump", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
        if shutil.which("h5dump")
        else None
    )
    if dump is not None and dump.returncode != 0:
        result.problems.append(f"h5dump exit {dump.returncode}: {dump.stderr.strip().splitlines()[-1:]}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per procedure (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments (default 1)")
    parser.add_argument(
        "--window",
        type=float,
        help="kill moments uniform over 0.3 s .. this (s); default "
        + ", ".join(f"{k} {v:g} s" for k, v in WINDOW_S.items()),
    )
    parser.add_argument("--procedures", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--keep", metavar="DIR", help="keep the run files in DIR")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tspcm-crash-"))
    folder.mkdir(parents=True, exist_ok=True)
    failed = 0
    rows = []
    for procedure in args.procedures:
        results = []
        attempts = 0
        while len(results) < args.kills and attempts < 3 * args.kills:
            attempts += 1
            k = len(results)
            moment = round(rng.uniform(0.3, args.window or WINDOW_S[procedure]), 2)
            r = kill_and_repair(procedure, moment, 1000 + attempts, folder)
            if r.problems and r.problems[0].startswith("the run ended by itself (exit 0)"):
                print(f"{procedure:10s} the run completed before {moment:5.2f} s: another moment", flush=True)
                continue
            results.append(r)
            state = "FAIL " + "; ".join(r.problems) if r.problems else "ok"
            print(
                f"{procedure:10s} kill {k + 1:2d} at {moment:5.2f} s: file {'yes' if r.file else 'no '}, "
                f"seen {r.rows_seen:5d}, after repair {r.rows_after:5d}, status {r.status or '-':11s} {state}",
                flush=True,
            )
        failed += sum(bool(r.problems) for r in results)
        rows.append(
            (
                procedure,
                len(results),
                sum(r.file for r in results),
                sum(r.rows_seen for r in results),
                sum(r.rows_after for r in results),
                sum(r.lost for r in results),
                sum(bool(r.problems) for r in results),
            )
        )
    print()
    print(
        f"{'procedure':10s} {'kills':>5s} {'files':>5s} {'rows seen':>9s} {'rows after':>10s} {'lost':>5s} {'failed':>6s}"
    )
    for row in rows:
        print(f"{row[0]:10s} {row[1]:5d} {row[2]:5d} {row[3]:9d} {row[4]:10d} {row[5]:5d} {row[6]:6d}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
