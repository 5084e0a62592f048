"""Full test-suite time of this checkout against a baseline commit, both timed in this run. Not a test.

Issue 12, must-show 6: ``pytest -q`` at least 2x faster than before, on the same machine, in the same run.
The baseline (default 4f70652, before the compiled model) is checked out as a git worktree (default
/tmp/base) with its own virtualenv, made by its own ``.ci/setup`` (so its numba cache, if any, is
warm as its setup leaves it); then the two suites run one after the other, baseline first, each as
``pytest -q`` with ``QT_QPA_PLATFORM=offscreen``. Prints wall and CPU (children's user + system) times,
pass/fail summaries and the ratios.

``--same-tests``: instead, only the tests both checkouts have (the same node ids, collected on each), in one
process each: the suite has grown ~3x since the baseline, so the whole-suite ratio mixes speed with size.

Run: ``.venv/bin/python benchmarks/bench_suite.py [--base 4f70652] [--base-dir /tmp/base] [--workers 2
--skip-serial] [--same-tests]`` (``--workers 2``: this checkout also as the README's command, ``-n 2 --dist
loadscope``) (several minutes of CPU; the machine should be otherwise idle for a fair ratio).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ensure_worktree(commit: str, where: Path) -> None:
    """A checkout of ``commit`` at ``where`` (a git worktree; a folder that already holds a checkout, e.g.
    from ``git archive COMMIT | tar -x -C DIR``, is used as it is), set up by its own ``.ci/setup``."""
    if not (where / ".git").exists() and not (where / ".ci" / "setup").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), commit], check=True)
    subprocess.run(["bash", str(where / ".ci" / "setup")], cwd=where, check=True)


def count_tests(summary: str) -> int:
    """Tests run, from pytest's last line ("1020 passed, 6 skipped, 2 xfailed in 134.5s")."""
    return sum(int(n) for n, what in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", summary))


def collect(checkout: Path, *args: str) -> tuple[set[str], set[str]]:
    """(node ids, test modules that failed to collect) of ``pytest --collect-only [args]`` in ``checkout``
    (with a module that fails, pytest lists no ids and runs nothing)."""
    proc = subprocess.run(
        [
            str(checkout / ".venv" / "bin" / "python"),
            *("-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args),
        ],
        cwd=checkout,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
    )
    ids = {line.strip() for line in proc.stdout.splitlines() if "::" in line and not line.startswith("ERROR")}
    return ids, set(re.findall(r"ERROR collecting (\S+\.py)", proc.stdout))


def timed_suite(checkout: Path, extra: tuple[str, ...] = ()) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the pytest process tree, last summary line, exit code)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("TSPCM_NO_JIT", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    for line in lines:  # pytest's short summary: which tests failed, so that a failure can be looked into
        if line.startswith(("FAILED ", "ERROR ")):
            print(f"  {checkout.name}: {line[:300]}", flush=True)
    return wall, cpu, lines[-1] if lines else "(no output)", proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="4f70652", help="baseline commit (default 4f70652)")
    ap.add_argument("--base-dir", default="/tmp/base", type=Path, help="where to check it out")
    ap.add_argument(
        "--workers",
        default="",
        metavar="N",
        help="also time this checkout with pytest-xdist (-n N --dist loadscope: the README's command with N=2)",
    )
    ap.add_argument(
        "--skip-serial",
        action="store_true",
        help="with --workers: time this checkout only with the workers (the README's command), not also in one process",
    )
    ap.add_argument("--same-tests", action="store_true", help="only the tests both checkouts have, one process each")
    args = ap.parse_args()
    ensure_worktree(args.base, args.base_dir)
    subprocess.run(["bash", str(ROOT / ".ci" / "setup")], cwd=ROOT, check=True)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if args.same_tests:
        same = sorted(collect(args.base_dir)[0] & collect(ROOT)[0])
        # node ids hold spaces and leading minus signs: one per line in a pytest @file, not on a command line
        ids = Path(tempfile.mkdtemp()) / "same_tests.txt"
        ids.write_text("\n".join(same) + "\n")
        # a module that imports from a conftest by name collects only in the whole suite's order: left out
        kept = same
        for checkout in (args.base_dir, ROOT):
            while bad := collect(checkout, f"@{ids}")[1]:
                left = [i for i in kept if i.split("::")[0] not in bad]
                if len(left) == len(kept) or not left:  # an empty @file would run the whole suite
                    raise SystemExit(f"{checkout}: cannot collect the shared tests alone ({', '.join(sorted(bad))})")
                kept = left
                ids.write_text("\n".join(kept) + "\n")
        print(f"tests in both checkouts: {len(same)}; collected alone in both: {len(kept)}", flush=True)
        runs = [(f"baseline {args.base}", args.base_dir, (f"@{ids}",)), (f"this checkout {head}", ROOT, (f"@{ids}",))]
    else:
        runs = [(f"baseline {args.base}", args.base_dir, ())]
        if not (args.skip_serial and args.workers):
            runs.append((f"this checkout {head}", ROOT, ()))
    if args.workers and not args.same_tests:
        runs.append((f"this checkout, -n {args.workers}", ROOT, ("-n", args.workers, "--dist", "loadscope")))
    results = {}
    for name, checkout, extra in runs:
        results[name] = timed_suite(checkout, extra)
        wall, cpu, summary, code = results[name]
        print(f"{name:30s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  exit {code}  {summary}", flush=True)
    (bw, bc, bs, _), *others = results.values()
    for name, (hw, hc, hs, _) in list(results.items())[1:]:
        per_test = (bw / max(count_tests(bs), 1)) / (hw / max(count_tests(hs), 1))
        print(
            f"{name}: whole suite {bw / hw:.2f}x faster (wall), {bc / hc:.2f}x (CPU) with "
            f"{count_tests(hs) / max(count_tests(bs), 1):.1f}x the tests; per test {per_test:.2f}x faster "
            f"(wall)  (issue 12 goal >= 2x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
