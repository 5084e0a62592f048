"""Where the CPU time of ``tspcm demo --quick`` goes: a table of shares that add up to its total. Not a test.

Issue 12, must-show 3 asks for the quick demo under 8 s CPU on one core (``bench_cli.py --demo`` times it
from the shell). This benchmark says what that time is made of. One child process runs the demo pinned to
one core, with its functions wrapped by exclusive CPU accounting: each thread's ``time.thread_time`` is
charged to the innermost phase it is in (a wrapped call inside another wrapped call is charged to its own
phase, not twice), so the rows add up. The total is the child's CPU as its parent sees it (user + system of
the process tree, from ``getrusage``); what runs outside every phase (the interpreter's teardown of ~2000
modules after ``main`` returns, threads not wrapped) is the last row, the difference. The wrappers cost CPU
themselves (~40,000 wrapped SCPI messages): the same command unwrapped, timed in the same run, gives that
overhead, printed under the table.

Rows, and whose they are:

- start-up: the interpreter and ``tspcm_lab.cli``'s imports before ``main`` runs;
- imports during the run: every module imported for the first time while the demo runs, wherever the import
  statement is, in two rows: this project's modules, and its dependencies (PyMeasure, pandas and pint, h5py,
  numba, matplotlib...; a dependency imported by one of ours is the dependency's);
- numba: loading the model's compiled kernels from the cache (when each simulated bench opens);
- device model kernel: ``CellArray._run``, the compiled physics (the floor any run of these procedures pays);
- simulated instruments: SCPI parsing and the instrument models behind ``@tspcm`` (``BenchHost.execute``,
  with the bench's bookkeeping around the model);
- procedures: the procedures' own Python, PyMeasure's drivers and PyVISA's message layer (the rest of the
  worker threads);
- HDF5 writing: ``RunWriter`` (create, rows, close with its checksum), in the worker and the flush thread;
- run files read back: ``Run`` opened by the runner (status and rows of each run) and by the report;
- analysis: the features of each run (in a child process: its CPU is the children's of the demo);
- report: figure building, and matplotlib's drawing and PNG encoding (``savefig``);
- ``tspcm run``'s key-figures line (its analysis; reading the run back is the row above);
- the rest of the main thread: campaign planning and validation, the index, the console.

``--iv-sweep`` splits ``tspcm run iv-sweep --sim`` the same way (issue 12: under 1 s wall from the shell), rows in
milliseconds: where the time beyond the dependency floor (``bench_cli.py``) goes.

Run: ``.venv/bin/python benchmarks/bench_demo_split.py [--repeats 3] [--iv-sweep]`` (the median of each row).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PY = str(BIN / "python") if (BIN / "python").exists() else sys.executable

#: the child: wraps the phases, runs the demo in-process, prints one "PHASE <cpu s> <name>" line per phase
CHILD = r"""
import builtins, json, os, resource, sys, threading, time
START = time.process_time()  # the interpreter's own start-up (before this line) is in the total, not here
from collections import Counter
acc = Counter()
local = threading.local()

def wrap(name, fn):
    def phase(*args, **kwargs):
        stack = local.__dict__.setdefault("stack", [])
        now = time.thread_time()
        if stack:
            acc[stack[-1][0]] += now - stack[-1][1]
        stack.append([name, now])
        try:
            return fn(*args, **kwargs)
        finally:
            now = time.thread_time()
            top = stack.pop()
            acc[top[0]] += now - top[1]
            if stack:
                stack[-1][1] = now
    phase.__wrapped__ = fn
    return phase

_import = builtins.__import__
OURS = ("tspcm_lab", "procedures", "instruments", "sim_backend", "pyvisa_tspcm", "tspcm_data")
_import_ours = wrap("imports during the run: this project's modules", _import)
_import_theirs = wrap("imports during the run: dependencies (PyMeasure, pandas, pint, numba, h5py...)", _import)

def _new(name, globals_, fromlist, level):
    # the module's full name when this import statement imports something for the first time, else None
    full = name
    if level:
        package = (globals_ or {}).get("__package__") or ""
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        full = f"{base}.{name}" if name else base
    module = sys.modules.get(full)
    if module is None:
        return full
    new = any(not hasattr(module, item) and f"{full}.{item}" not in sys.modules for item in fromlist or () if item != "*")
    return full if new else None

def counted_import(name, globals=None, locals=None, fromlist=(), level=0):
    full = _new(name, globals, fromlist, level)
    if full is not None:  # charged to whose module it is (a dependency's import inside ours is theirs)
        phase = _import_ours if full.partition(".")[0] in OURS else _import_theirs
        return phase(name, globals, locals, fromlist, level)
    return _import(name, globals, locals, fromlist, level)

startup = time.process_time()
import tspcm_lab.cli as cli
startup = time.process_time() - startup
builtins.__import__ = counted_import

# what is wrapped is imported here, charged to the import rows, with the collector as tspcm keeps it for its own
# imports (tspcm_lab.startup: no automatic collection while importing, the imported frozen)
import gc
gc.disable()
import numba.core.dispatcher as dispatcher
import sim_backend.model as model
import sim_backend.visa as visa
import tspcm_lab.commands.run as run_command
import tspcm_lab.store.reader as reader
import tspcm_lab.store.writer as writer
from tspcm_lab.runner import worker as runner_worker

dispatcher.Dispatcher._compile_for_args = wrap("numba: kernels loaded from the cache", dispatcher.Dispatcher._compile_for_args)
model.CellArray._run = wrap("device model kernel (compiled physics)", model.CellArray._run)
visa.BenchHost.execute = wrap("simulated instruments (SCPI engine, instrument models, bench)", visa.BenchHost.execute)
for name in ("create", "append_row", "append_columns", "add_waveform", "log", "close", "set_metadata", "set_attrs",
             "go_live", "flush", "_flush_loop"):
    setattr(writer.RunWriter, name, wrap("HDF5 writing (RunWriter)", getattr(writer.RunWriter, name)))  # create: bound
run_command.print_key_figures = wrap("tspcm run: the key-figures line (its analysis)", run_command.print_key_figures)
reader.Run.__init__ = wrap("run files read back (runner, report)", reader.Run.__init__)
if sys.argv[1:2] == ["demo"]:  # the report's modules (matplotlib): not imported by a tspcm run
    import tspcm_lab.analysis.batch as batch
    import tspcm_lab.analysis.plots as plots
    import tspcm_lab.report as report

    batch.analyze_paths = wrap("analysis (this process: starting the child, the summary)", batch.analyze_paths)
    plots.plot_run = wrap("report: figures built", plots.plot_run)
    plots.to_png_base64 = wrap("report: matplotlib drawing and PNG encoding", plots.to_png_base64)
    report.write_report = wrap("report: the rest (tables, HTML)", report.write_report)
gc.freeze()
gc.enable()
_worker_class = runner_worker.worker_class

def worker_class():
    cls = _worker_class()
    cls.run = wrap("procedures (their Python, PyMeasure drivers, PyVISA)", cls.run)
    return cls

sys.modules["tspcm_lab.runner.execute"].worker_class = worker_class
main = wrap("main thread: the command's own work (planning, validation, index, console)", cli.main)
code = main()  # no argv: the command line of its own process, as the tspcm script calls it (cli.main then sets the collector)
self_cpu = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
acc["analysis (child process)"] = children.ru_utime + children.ru_stime
acc["start-up: interpreter and tspcm_lab.cli imports"] = START + startup
print("PHASES " + json.dumps(dict(acc)), file=sys.stderr)
sys.exit(code)
"""

#: row order of the table, grouped
ORDER = [
    "start-up: interpreter and tspcm_lab.cli imports",
    "imports during the run: this project's modules",
    "imports during the run: dependencies (PyMeasure, pandas, pint, numba, h5py...)",
    "numba: kernels loaded from the cache",
    "device model kernel (compiled physics)",
    "simulated instruments (SCPI engine, instrument models, bench)",
    "procedures (their Python, PyMeasure drivers, PyVISA)",
    "HDF5 writing (RunWriter)",
    "run files read back (runner, report)",
    "analysis (this process: starting the child, the summary)",
    "analysis (child process)",
    "report: figures built",
    "report: matplotlib drawing and PNG encoding",
    "report: the rest (tables, HTML)",
    "tspcm run: the key-figures line (its analysis)",
    "main thread: the command's own work (planning, validation, index, console)",
]
REST = "outside every phase: interpreter teardown after main, unwrapped threads"


def run_child(args: list[str], work: Path) -> tuple[float, str]:
    """(CPU s of the process tree, stderr) of one run pinned to one core."""
    cmd = [PY, *args]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "TSPCM_NO_JIT")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for item in work.iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    if proc.returncode != 0:
        raise SystemExit(f"  ! {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stderr


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (median per row)")
    parser.add_argument(
        "--iv-sweep",
        action="store_true",
        help="split tspcm run iv-sweep --sim (issue 12: under 1 s wall) instead of the quick demo",
    )
    args = parser.parse_args()
    demo = (
        ["run", "iv-sweep", "--sim", "--seed", "1", "-o", "x.h5"] if args.iv_sweep else ["demo", "--quick", "-o", "out"]
    )
    title = "tspcm run iv-sweep --sim" if args.iv_sweep else "tspcm demo --quick"
    rows: dict[str, list[float]] = {}
    totals, plain = [], []
    with tempfile.TemporaryDirectory(prefix="tspcm-split-") as tmp:
        work = Path(tmp)
        run_child(["-m", "tspcm_lab.cli", *demo], work)  # untimed: fills the bytecode and numba caches
        for _ in range(args.repeats):  # interleaved, so the machine's load falls on both alike
            plain.append(run_child(["-m", "tspcm_lab.cli", *demo], work)[0])
            total, stderr = run_child(["-c", CHILD, *demo], work)
            found = [line for line in stderr.splitlines() if line.startswith("PHASES ")]
            if not found:
                raise SystemExit("  ! the instrumented demo printed no PHASES line")
            phases = json.loads(found[-1][len("PHASES ") :])
            totals.append(total)
            for name in ORDER:
                rows.setdefault(name, []).append(phases.get(name, 0.0))
            rows.setdefault(REST, []).append(total - sum(phases.get(name, 0.0) for name in ORDER))
    total = statistics.median(totals)
    print(
        f"{title} on one core, CPU by phase (median of {args.repeats}; "
        f"load average {os.getloadavg()[0]:.2f} at the end):"
    )
    shown = 0.0
    for name in [*ORDER, REST]:
        value = statistics.median(rows[name])
        shown += value
        if value or not args.iv_sweep:
            print(f"  {name:78s} {value:6.3f} s  {100 * value / total:5.1f} %")
    print(f"  {'sum of the rows (medians)':78s} {shown:6.3f} s")
    print(f"  {'total, instrumented (process tree)':78s} {total:6.3f} s  100.0 %")
    print(
        f"  {'the same command without the wrappers':78s} {statistics.median(plain):6.3f} s  "
        f"(the wrappers' own cost: {total - statistics.median(plain):+.2f} s, spread over the rows)"
    )


if __name__ == "__main__":
    main()
