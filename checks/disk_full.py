"""Fill the disk under real `tspcm run` processes at several levels and check that nothing breaks.

    python checks/disk_full.py [--levels 150k 600k 700k ...] [--procedure iv-sweep]

Each level is a file size limit (RLIMIT_FSIZE, what ``ulimit -f`` sets; it needs no root and behaves for
the writer like a disk with that much room) put on a child process that runs ``tspcm run`` on the
simulated bench, long enough to reach it. For each level it checks: no crash (exit code 1, not a signal),
a "disk full" message, the run file (if one was started) ends ``failed`` with an error starting "disk
full", every row in it readable by plain h5py, and every simulated output off afterwards (read from the
simulated instruments' own state, not from the run's report). One more run has the room check switched
off, so that HDF5 itself hits the limit in the middle of a flush: it must not crash either, and the rows
flushed before must still be readable (by SWMR; ``tspcm repair`` then ends the file).

Prints one line per level: limit, exit code, rows, status, message. Exit code 1 if any check failed.
tests/store/test_disk_full.py runs three of these levels on every test run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: the child: a file size limit, then the CLI, then the simulated outputs as the instruments see them
CHILD = r"""
import json, resource, sys
limit, out, state, check = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from tspcm_lab.store.writer import RunWriter
RunWriter.check_room = check
from tspcm_lab.cli import main
code = main(sys.argv[5:])
import pyvisa_tspcm
from sim_backend.visa import _HOSTS
outputs = {}
for spec, host in _HOSTS.items():
    outputs.update({name: bool(src.enabled) for name, src in host.bench.sources.items()})
    outputs["matrix_closed"] = bool(host.bench.closed)
    smu = host.instruments.get("GPIB0::18::INSTR")
    awg = host.instruments.get("GPIB0::10::INSTR")
    outputs["smu_OUTP?"] = smu.handle(":OUTP?") if smu else None
    outputs["awg_OUTP1?"] = awg.handle("OUTP1?") if awg else None
json.dump({"code": code, "outputs": outputs}, open(state, "w"))
sys.exit(code)
"""

#: reads a run file with plain h5py only (SWMR when it is still flagged open), every dataset in full
PLAIN_READ = r"""
import json, sys, h5py
try:
    f = h5py.File(sys.argv[1], "r")
    swmr = False
except OSError:
    f = h5py.File(sys.argv[1], "r", swmr=True)
    swmr = True
with f:
    def read(name, obj):
        if isinstance(obj, h5py.Dataset):
            obj[()]
    f.visititems(read)
    a = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items() if k in ("status", "error")}
    rows = min((f["data"][k].shape[0] for k in f["data"]), default=0)
print(json.dumps({"status": a.get("status", ""), "error": a.get("error", ""), "rows": rows, "swmr": swmr}))
"""

RUNS = {
    "iv-sweep": ["--sim", "--seed", "7", "--set", "cycles=10000"],  # 5e6 rows: every level is reached
    "pattern": ["--bench", "sim-4x4", "--seed", "7"],
}


@dataclass
class LevelResult:
    limit: int
    check_room: bool = True
    code: int | None = None
    message: str = ""
    file: bool = False
    status: str = ""
    rows: int = 0
    outputs: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_size(text: str) -> int:
    factor = {"k": 1024, "m": 1024**2}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def run_level(
    limit: int, folder: Path, procedure: str = "iv-sweep", check_room: bool = True, timeout_s: float = 600
) -> LevelResult:
    """One run under a file size limit of ``limit`` bytes; the checks of the module doc."""
    result = LevelResult(limit, check_room)
    path = folder / f"{procedure}-{limit}-{'checked' if check_room else 'unchecked'}.h5"
    state = path.with_suffix(".json")
    cmd = [
        sys.executable,
        "-c",
        CHILD,
        str(limit),
        str(path),
        str(state),
        "1" if check_room else "0",
        "run",
        procedure,
        "-o",
        str(path),
    ] + RUNS[procedure]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    result.code = proc.returncode
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "disk full" in ln]
    result.message = lines[0] if lines else ""
    if proc.returncode < 0:
        result.problems.append(f"killed by signal {-proc.returncode}")
    elif proc.returncode != 1:
        result.problems.append(f"exit code {proc.returncode}, not 1")
    if "Traceback" in proc.stderr:
        result.problems.append("a traceback on stderr")
    if not result.message:
        result.problems.append("no 'disk full' message")
    if state.exists():
        result.outputs = json.loads(state.read_text())["outputs"]
        on = [name for name, value in result.outputs.items() if value is True or value == "1"]
        if on:
            result.problems.append(f"outputs on afterwards: {on}")
    else:
        result.problems.append("the child did not report the simulated outputs")
    result.file = path.exists()
    if result.file:
        read = subprocess.run(
            [sys.executable, "-c", PLAIN_READ, str(path)], capture_output=True, text=True, timeout=600
        )
        if read.returncode != 0:
            result.problems.append(f"rows not readable: {read.stderr.strip().splitlines()[-1:]}")
        else:
            got = json.loads(read.stdout)
            result.status, result.rows = got["status"], got["rows"]
            if check_room and (got["status"] != "failed" or not got["error"].startswith("disk full")):
                result.problems.append(f"status {got['status']!r}, error {got['error'][:60]!r}")
            if not check_room and not got["swmr"] and got["status"] != "failed":
                result.problems.append(f"status {got['status']!r}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--levels",
        nargs="+",
        default=["150k", "700k", "1.5m", "2m", "3m", "4m", "8m", "16m", "32m", "64m"],
        help="file size limits (k = KiB, m = MiB)",
    )
    parser.add_argument("--procedure", default="iv-sweep", choices=list(RUNS))
    args = parser.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tspcm-diskfull-") as tmp:
        folder = Path(tmp)
        scenarios = [(parse_size(level), True) for level in args.levels] + [(parse_size("2m"), False)]
        for limit, check in scenarios:
            r = run_level(limit, folder, args.procedure, check)
            failed += bool(r.problems)
            state = "FAIL " + "; ".join(r.problems) if r.problems else "ok"
            what = "room check on " if check else "room check OFF"
            print(
                f"limit {limit / 1024:7.0f} KiB, {what}: exit {r.code}, file {'yes' if r.file else 'no '}, "
                f"rows {r.rows:6d}, status {r.status or '-':9s} {state}\n    {r.message[:150]}",
                flush=True,
            )
    print(f"\n{len(scenarios)} runs, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
