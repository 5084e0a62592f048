"""Full test-suite time of this checkout against a baseline commit, both timed in this run. Not a test.

Issue 12, must-show 6: ``pytest -q`` at least 2x faster than before, on the same machine, in the same run.
The baseline (default 4f70652, before the compiled model) is checked out as a git worktree (default
/tmp/base) with its own virtualenv, made by its own ``.ci/setup`` (so its numba cache, if any, is
warm as its setup leaves it); then the two suites run one after the other, baseline first, each as
``pytest -q`` with ``QT_QPA_PLATFORM=offscreen``. Prints wall and CPU (children's user + system) times,
pass/fail summaries and the ratios.

Run: ``.venv/bin/python benchmarks/bench_suite.py [--base 4f70652] [--base-dir /tmp/base]``
(several minutes of CPU; the machine should be otherwise idle for a fair ratio).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ensure_worktree(commit: str, where: Path) -> None:
    if not (where / ".git").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), commit], check=True)
    subprocess.run(["bash", str(where / ".ci" / "setup")], cwd=where, check=True)


def timed_suite(checkout: Path) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the pytest process tree, last summary line, exit code)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("TSPCM_NO_JIT", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return wall, cpu, lines[-1] if lines else "(no output)", proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="4f70652", help="baseline commit (default 4f70652)")
    ap.add_argument("--base-dir", default="/tmp/base", type=Path, help="where to check it out")
    args = ap.parse_args()
    ensure_worktree(args.base, args.base_dir)
    subprocess.run(["bash", str(ROOT / ".ci" / "setup")], cwd=ROOT, check=True)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    results = {}
    for name, checkout in ((f"baseline {args.base}", args.base_dir), (f"this checkout {head}", ROOT)):
        results[name] = timed_suite(checkout)
        wall, cpu, summary, code = results[name]
        print(f"{name:28s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  exit {code}  {summary}", flush=True)
    (bw, bc, _, _), (hw, hc, _, _) = results.values()
    print(f"speed-up: wall {bw / hw:.2f}x, CPU {bc / hc:.2f}x  (issue 12 goal >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
