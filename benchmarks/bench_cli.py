"""Wall and CPU time of ``tspcm`` commands from the shell, against baselines measured in this run. Not a test.

Issue 12, must-show 3: ``tspcm run iv-sweep --sim`` under 1 s wall from the shell (import time
included); ``tspcm run pattern --bench sim-4x4`` under 3 s; ``tspcm demo --quick`` under 8 s CPU on
one core; the full demo under 20 s.

Every command runs as a user's shell would start it: a fresh process of ``.venv/bin/tspcm``, with
Python writing its bytecode cache (``PYTHONDONTWRITEBYTECODE`` is removed from the environment; one
untimed run first fills the cache, as a user's first run does). The baselines are timed in the same
run, interleaved with the commands: ``python -c pass`` (the interpreter), ``python -c "import
numpy"`` (the smallest scientific script) and a fixed pure-Python CPU loop (``--yardstick``, how fast
this core is right now: on a loaded machine every figure and this one grow together), and the
dependency floor (``FLOOR``: the imports and the kernel load any ``tspcm run`` must pay, whatever
this package does); for the pattern run, that floor plus the CPU its device model's compiled kernel takes
(measured in-process, in this run: the physics any such run pays).

For each command: the best and the median wall time of ``--repeats`` runs, its CPU time (user +
system of the process tree) and ``taskset -c 0`` (one core) where the goal is CPU on one core; the demos
run ``--demo-repeats`` times each, interleaved with the baseline (median). The
heavy modules a ``tspcm run`` process imported are listed from ``-X importtime`` (``--imports``).

Run: ``.venv/bin/python benchmarks/bench_cli.py [--repeats 5] [--demo] [--full-demo] [--imports]``
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PY = str(BIN / "python") if (BIN / "python").exists() else sys.executable
TSPCM = str(BIN / "tspcm") if (BIN / "tspcm").exists() else "tspcm"
YARDSTICK = "s = 0\nfor i in range(3_000_000):\n    s += i * i\n"
#: what any ``tspcm run`` on the simulated bench must import and load whatever we do: PyMeasure's
#: Procedure (which imports pint and pandas), its Keithley drivers (pyvisa), h5py, numba and one of the
#: model's cached kernels (numba's first dispatch loads its registries, and scipy.linalg for BLAS)
FLOOR = (
    "import pymeasure.experiment, pymeasure.instruments.keithley, h5py\n"
    "from sim_backend.model import CellArray\nCellArray(shape=1, seed=1)\n"
)
#: the same floor with the garbage collector as ``tspcm`` has it in its own process (tspcm_lab.startup.starting_up:
#: no automatic collection while importing, what was imported frozen, and frozen again at exit): without
#: that, Python's collector adds about 0.5 s to these imports and their exit
FLOOR_FROZEN = "import atexit, gc\ngc.disable()\n" + FLOOR + "gc.freeze()\ngc.enable()\natexit.register(gc.freeze)\n"
#: the CPU time the device model's compiled kernel takes in a run of ``tspcm`` (the physics any run of that
#: command pays, whatever the rest costs), printed by a child that runs the command in-process
KERNEL_SHARE = """import sys, time
import sim_backend.model as m
spent = [0.0]
run = m.CellArray._run
def timed(*a, **k):
    t = time.thread_time()
    try:
        return run(*a, **k)
    finally:
        spent[0] += time.thread_time() - t
m.CellArray._run = timed
from tspcm_lab.cli import main
main(sys.argv[1:])
print(f"KERNEL {spent[0]:.6f}", file=sys.stderr)
"""
#: modules whose import a short ``tspcm run`` should not pay for (listed when they are imported)
HEAVY = (
    "pandas",
    "scipy",
    "scipy.optimize",
    "scipy.stats",
    "matplotlib",
    "dask",
    "distributed",
    "IPython",
    "PyQt5",
    "pyarrow",
    "xarray",
    "numba",
    "h5py",
    "pint",
    "pymeasure",
)


def user_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("TSPCM_NO_JIT", None)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def timed(
    cmd: list[str], cwd: Path, *, one_core: bool = False, pythonpath: str | None = None
) -> tuple[float, float, int]:
    """(wall s, CPU s of the process tree, exit code) of one run of ``cmd`` (with ``pythonpath``: the
    packages of that checkout instead of this one's, through this checkout's virtualenv)."""
    env = user_env()
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if one_core and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:  # a command that fails has no time to compare (it printed ratios of tracebacks)
        raise SystemExit(f"  ! {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def clean(work: Path) -> None:
    for item in work.iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()


def series(cases: dict[str, tuple[list[str], str | None]], repeats: int, work: Path, *, one_core: bool = False) -> dict:
    """Each case (command, PYTHONPATH) ``repeats`` times, interleaved (so that the machine's load
    falls on all alike), after one untimed run of each (which fills the bytecode and numba caches)."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for turn in range(repeats + 1):
        for name, (cmd, pythonpath) in cases.items():
            wall, cpu, _code = timed(cmd, work, one_core=one_core, pythonpath=pythonpath)
            if turn:
                runs[name].append((wall, cpu))
            clean(work)
    return runs


def summary(runs: list[tuple[float, float]]) -> tuple[float, float, float]:
    walls = [w for w, _ in runs]
    return min(walls), statistics.median(walls), statistics.median(c for _, c in runs)


def stderr_of(args: list[str], work: Path) -> str:
    """The standard error of one run of ``args`` in ``work`` (its output files removed after)."""
    proc = subprocess.run(args, cwd=work, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    clean(work)
    return proc.stderr


def kernel_cpu(cmd: list[str], work: Path) -> float:
    """CPU seconds spent in the device model's kernel (``CellArray._run``) by one in-process run of ``cmd``."""
    stderr = stderr_of([PY, "-c", KERNEL_SHARE, *cmd[1:]], work)
    found = [line.split()[1] for line in stderr.splitlines() if line.startswith("KERNEL ")]
    return float(found[-1]) if found else float("nan")


def imported_heavy(cmd: list[str], work: Path) -> list[str]:
    """The HEAVY modules a run of ``cmd`` (a tspcm command) imported, with their cumulative import time."""
    found = {}
    for line in stderr_of([PY, "-X", "importtime", "-m", "tspcm_lab.cli", *cmd[1:]], work).splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        name = name.strip()
        if name in HEAVY:
            found[name] = max(found.get(name, 0), int(cumulative))
    return [f"{name} {us / 1e3:.0f} ms" for name, us in sorted(found.items(), key=lambda kv: -kv[1])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each start-up case (default 5)")
    ap.add_argument(
        "--demo-repeats",
        type=int,
        default=3,
        help="timed runs of each demo, now and baseline interleaved (default 3: one run of the quick demo can sit "
        "0.5 s above its median)",
    )
    ap.add_argument(
        "--base",
        type=Path,
        metavar="DIR",
        help="a checkout of the baseline commit (e.g. git archive a4d5881 | tar -x -C DIR, then "
        "PYTHONPATH=DIR .venv/bin/python -m sim_backend.warm): its commands are timed too, "
        "interleaved, through this virtualenv",
    )
    ap.add_argument("--demo", action="store_true", help="also tspcm demo --quick on one core (about 10 s a run)")
    ap.add_argument("--full-demo", action="store_true", help="also the full tspcm demo (about 20 s a run)")
    ap.add_argument("--imports", action="store_true", help="list the heavy modules tspcm run iv-sweep imports")
    args = ap.parse_args()
    base_path = str(args.base.resolve()) if args.base else None
    if base_path and (args.base / "sim_backend" / "pyvisa_tspcm").is_dir():
        # pyvisa_tspcm lives in sim_backend/ (pyproject's package-dir): this virtualenv's editable install maps it
        # to this checkout's copy, which a PYTHONPATH entry ahead of it overrides with the baseline's
        base_path += os.pathsep + str((args.base / "sim_backend").resolve())
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        work = Path(tmp)
        baselines = {
            "python -c pass": ([PY, "-c", "pass"], None),
            "python -c 'import numpy'": ([PY, "-c", "import numpy"], None),
            "yardstick (3e6 Python loop turns)": ([PY, "-c", YARDSTICK], None),
            "dependency floor": ([PY, "-c", FLOOR], None),
            "dependency floor, collector as tspcm's": ([PY, "-c", FLOOR_FROZEN], None),
        }
        commands = {
            "tspcm run iv-sweep --sim -o x.h5": [TSPCM, "run", "iv-sweep", "--sim", "--seed", "1", "-o", "x.h5"],
            "tspcm run pattern --bench sim-4x4": [
                TSPCM,
                "run",
                "pattern",
                "--bench",
                "sim-4x4",
                "--seed",
                "2",
                "-o",
                "p.h5",
            ],
            "tspcm --help": [TSPCM, "--help"],
        }
        cases = dict(baselines)
        for name, cmd in commands.items():
            cases[name] = (cmd, None)
            if base_path:
                cases[f"  baseline: {name}"] = (cmd, base_path)
        runs = series(cases, args.repeats, work)
        print(f"start-up and short runs, {args.repeats} runs each, interleaved (best / median wall, median CPU):")
        ref = {name: summary(r) for name, r in runs.items()}
        numpy_best = ref["python -c 'import numpy'"][0]
        for name, (best, median, cpu) in ref.items():
            extra = ""
            if name.startswith("  baseline: "):
                best_now, _, cpu_now = ref[name[len("  baseline: ") :]]
                extra = f"   now {best / best_now:4.2f}x faster (wall), {cpu / cpu_now:4.2f}x (CPU)"
            print(
                f"  {name:40s} wall {best:6.2f} / {median:6.2f} s  CPU {cpu:6.2f} s"
                f"   = {best / numpy_best:5.1f}x python -c 'import numpy'{extra}"
            )
        iv = ref["tspcm run iv-sweep --sim -o x.h5"][0]
        pat = ref["tspcm run pattern --bench sim-4x4"][0]
        yard = ref["yardstick (3e6 Python loop turns)"][2]
        floor, floor_cpu = ref["dependency floor"][0], ref["dependency floor"][2]
        frozen = ref["dependency floor, collector as tspcm's"][0]
        iv_cpu = ref["tspcm run iv-sweep --sim -o x.h5"][2]
        print(
            f"  iv-sweep: {iv:.2f} s wall (goal < 1 s) = {iv / numpy_best:.1f}x 'import numpy', "
            f"{iv / ref['python -c pass'][0]:.0f}x 'pass', {iv / floor:.2f}x the dependency floor's wall and "
            f"{iv_cpu / floor_cpu:.2f}x its CPU ({floor:.2f} s wall, {floor_cpu:.2f} s CPU: PyMeasure with pint "
            f"and pandas, pyvisa, h5py, numba and one cached kernel); {iv / frozen:.2f}x the floor with the collector as "
            f"tspcm's ({frozen:.2f} s)"
        )
        room = (
            "the floor alone is over 1 s here (a loaded machine?)"
            if frozen >= 1.0
            else f"under 1 s leaves them {1.0 - frozen:.2f} s"
            + ("" if iv < 1.0 else f": {iv - 1.0:.2f} s to cut, {100 * (iv - 1.0) / (iv - frozen):.0f} % of them")
        )
        print(
            f"  iv-sweep over that floor: {iv - frozen:.2f} s wall (its own imports, bench, run, file, key figures, "
            f"teardown beyond the dependencies'); {room}"
        )
        kernel = kernel_cpu(commands["tspcm run pattern --bench sim-4x4"], work)
        print(
            f"  pattern sim-4x4: {pat:.2f} s wall (goal < 3 s) = {pat / yard:.1f}x the yardstick's CPU; its floor: "
            f"the dependency floor {floor:.2f} s wall + the model kernel's {kernel:.2f} s CPU = {floor + kernel:.2f} s "
            f"(the command takes {pat / (floor + kernel):.2f}x that); with the collector as tspcm's {frozen + kernel:.2f} s "
            f"({pat / (frozen + kernel):.2f}x)"
        )
        if args.imports:
            print(
                "  heavy modules imported by tspcm run iv-sweep (cumulative import time): "
                + ", ".join(imported_heavy(commands["tspcm run iv-sweep --sim -o x.h5"], work))
            )
        demos = {}
        if args.demo:
            demos["tspcm demo --quick (one core)"] = ([TSPCM, "demo", "--quick", "-o", "d"], True, 8.0)
        if args.full_demo:
            demos["tspcm demo (full, all cores)"] = ([TSPCM, "demo", "-o", "d"], False, 20.0)
        for name, (cmd, one_core, goal) in demos.items():
            variants = {"now": None, **({"baseline": base_path} if base_path else {})}
            results = {v: [] for v in variants}
            yard_runs = []
            for _ in range(max(1, args.demo_repeats)):
                yard_runs.append(timed(baselines["yardstick (3e6 Python loop turns)"][0], work, one_core=one_core)[1])
                for v, pythonpath in variants.items():
                    results[v].append(timed(cmd, work, one_core=one_core, pythonpath=pythonpath)[:2])
                    clean(work)
            y = statistics.median(yard_runs)
            what = "CPU" if one_core else "wall"
            values = {}
            for v, r in results.items():
                wall = statistics.median(w for w, _ in r)
                cpu = statistics.median(c for _, c in r)
                values[v] = cpu if one_core else wall
                print(
                    f"  {name + ('' if v == 'now' else ', baseline'):40s} wall {wall:6.2f} s  CPU {cpu:6.2f} s   "
                    f"{what} {values[v]:.2f} s (goal < {goal:g} s) = {values[v] / y:.1f}x the yardstick's CPU "
                    f"({y:.2f} s)"
                )
            if "baseline" in values:
                print(f"  {name}: now {values['baseline'] / values['now']:.2f}x faster than the baseline ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
