"""CPU of each figure of the HTML report (Agg drawing and PNG encoding), against a baseline checkout in the same run.
Not a test.

    python benchmarks/bench_report.py [--runs DIR] [--base DIR] [--repeats 5]

The figures are those ``tspcm analyze --report`` draws for the quick demo's runs (``--runs``: a folder of run
files; by default ``tspcm demo --quick`` is run once, untimed, to make them). For this checkout and for ``--base``
(a checkout of the baseline commit, e.g. ``git worktree add /tmp/base main``, imported through this virtualenv as
bench_cli.py does), one child process each, alternately and pinned to one core, writes the report ``--repeats``
times and times every call of ``plots.to_png_base64`` (the collector paused inside, so that a full collection
falling in one figure does not count as that figure's; the first figure pays what a process pays once: the
fonts, and mathtext's grammar where labels use it). The median per figure is printed with the ratio. Then the PNG
encoding alone on the same drawn figures: matplotlib's ``savefig`` (Pillow, RGBA at zlib level 6) against
``plots.png_bytes``, with the sizes (this checkout only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PY = str(BIN / "python") if (BIN / "python").exists() else sys.executable

#: writes the report of the runs in argv[1] into argv[2], timing each figure's drawing and encoding
CHILD = r"""
import gc, json, sys, time
from pathlib import Path
from tspcm_lab import report
from tspcm_lab.analysis import plots
from tspcm_lab.analysis.batch import analyze_paths

files = sorted(str(p) for p in Path(sys.argv[1]).glob("*.h5"))
res = analyze_paths(files, write=False, progress=False)
encode = plots.to_png_base64
names, times = [], []

def timed(fig):
    gc.disable()
    t = time.process_time()
    try:
        return encode(fig)
    finally:
        times.append(time.process_time() - t)
        gc.enable()
        title = fig.get_suptitle() or fig.axes[0].get_title() or "pattern maps"
        names.append(title.split("\n")[0].split("  ")[0][:44])

plots.to_png_base64 = timed
report.write_report(files, sys.argv[2], table=res.table, errors=res.errors)
print("FIGURES " + json.dumps({"names": names, "s": times}))
"""

#: the PNG encoding alone, of the report's figures drawn once: savefig's (matplotlib.image.imsave) and ours
ENCODE = r"""
import io, sys, time
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imsave
from pathlib import Path
from tspcm_lab import report
from tspcm_lab.analysis import plots

files = sorted(str(p) for p in Path(sys.argv[1]).glob("*.h5"))
figs = []
plots.to_png_base64 = lambda fig: figs.append(fig) or ""
report.write_report(files, sys.argv[2])
canvases = [FigureCanvasAgg(f) for f in figs]
for c in canvases:
    c.draw()

def savefigs(c):  # what savefig does after drawing (FigureCanvasAgg.print_png)
    buf = io.BytesIO()
    imsave(buf, c.buffer_rgba(), format="png", origin="upper", dpi=c.figure.dpi)
    return buf.getvalue()

rows = {"savefig's encoding (RGBA, level 6)": [], "plots.png_bytes (RGB, level 3)": []}
for _ in range(3):
    for name, encode in zip(rows, (savefigs, plots.png_bytes)):
        t = time.process_time()
        size = sum(len(encode(c)) for c in canvases)
        rows[name].append((time.process_time() - t, size))
for name, runs in rows.items():
    print(f"  {name:40s} {1e3 * min(t for t, _ in runs):7.1f} ms for {len(figs)} figures, {runs[0][1] / 1e3:6.0f} kB")
"""


def child(code: str, args: list[str], pythonpath: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [PY, "-c", code, *args]
    if shutil.which("taskset") and hasattr(os, "sched_getaffinity"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=args[1])
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, help="a folder of run files (default: made by tspcm demo --quick)")
    ap.add_argument("--base", type=Path, help="a checkout of the baseline commit")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        runs = args.runs
        if runs is None:
            runs = Path(tmp) / "demo"
            subprocess.run([str(BIN / "tspcm"), "demo", "--quick", "-o", str(runs)], check=True, capture_output=True)
        variants = {"this checkout": None}
        if args.base:
            base = args.base.resolve()
            variants["baseline"] = os.pathsep.join([str(base), str(base / "sim_backend")])
        found: dict[str, list[list[float]]] = {v: [] for v in variants}
        names: list[str] = []
        for _ in range(args.repeats):  # alternately, so the machine's load falls on both alike
            for variant, pythonpath in variants.items():
                out = child(CHILD, [str(runs.resolve()), tmp], pythonpath)
                line = next(x for x in out.splitlines() if x.startswith("FIGURES "))
                data = json.loads(line[len("FIGURES ") :])
                names = names or data["names"]
                found[variant].append(data["s"])
        med = {v: [statistics.median(x) for x in zip(*found[v])] for v in variants}
        print(f"report figures: CPU of drawing + PNG encoding each (median of {args.repeats}), one core")
        head = "".join(f"{v:>16s}" for v in variants) + ("   ratio" if args.base else "")
        print(f"  {'figure':46s}{head}")
        for k, name in enumerate(names):
            cells = "".join(f"{1e3 * med[v][k]:13.1f} ms" for v in variants)
            ratio = f"  {med['baseline'][k] / med['this checkout'][k]:5.2f}x" if args.base else ""
            print(f"  {name:46s}{cells}{ratio}")
        totals = {v: sum(med[v]) for v in variants}
        cells = "".join(f"{1e3 * totals[v]:13.1f} ms" for v in variants)
        ratio = f"  {totals['baseline'] / totals['this checkout']:5.2f}x" if args.base else ""
        print(f"  {'all ' + str(len(names)) + ' figures':46s}{cells}{ratio}")
        print("PNG encoding of the same drawn figures (this checkout), best of 3:")
        print(child(ENCODE, [str(runs.resolve()), tmp], None), end="")


if __name__ == "__main__":
    main()
