"""GUI responsiveness during a 1e5-point simulated run: the lateness of a 10 ms Qt timer in the GUI thread,
what the GUI thread itself spent (redraws, garbage collection), what the whole GUI process spent in the
worst gap (its other threads: the run's worker, the file's flush thread), and the baseline measured in the
same run: a process of its own waiting 10 ms at a time, whose lateness is the machine's load alone. The
simulated bench runs in its own process, as ``tspcm gui`` has it, and then, for comparison in the same
run, in the GUI's process (as before). Runs tests/gui/test_responsiveness.py,
which measures it on the real window offscreen, and prints its figures.

    python benchmarks/bench_gui.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "BENCH_GUI_BASELINE": "1",
    }  # the same run with the bench in the GUI's process, for comparison
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/gui/test_responsiveness.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("BENCH gui:")]
    print("\n".join(lines) if lines else out.stdout[-3000:] + out.stderr[-3000:])
    raise SystemExit(out.returncode)
