"""Issue 12, must-show 3 (``tspcm run iv-sweep --sim`` starts fast): a run imports what it uses, not every
analysis and driver of the package. Checked in a fresh interpreter, on the real command (no timing here:
benchmarks/bench_cli.py measures the time)."""

from __future__ import annotations

import subprocess
import sys

#: what an iv-sweep on the simulated bench does not use: the other procedures' extractors (its key-figures line
#: needs the iv-sweep analysis only)
NOT_FOR_AN_IV_SWEEP = (
    "tspcm_lab.analysis.drift",
    "tspcm_lab.analysis.plasticity",
    "tspcm_lab.analysis.intrinsic",
    "tspcm_lab.analysis.learning",
)
#: what it must use (the check would pass vacuously if the run never got as far as its key figures)
USED = ("tspcm_lab.analysis.runs", "procedures.library.switching", "sim_backend.model")


def test_an_iv_sweep_imports_only_what_it_uses(tmp_path):
    watched = NOT_FOR_AN_IV_SWEEP + USED
    child = (
        "import sys\nfrom tspcm_lab.cli import main\ncode = main(sys.argv[1:])\n"
        f"print(sorted(m for m in {watched!r} if m in sys.modules), file=sys.stderr)\nsys.exit(code)"
    )
    out = tmp_path / "iv.h5"
    argv = ["run", "iv-sweep", "--sim", "--seed", "1", "-o", str(out)]
    done = subprocess.run([sys.executable, "-c", child, *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "iv-sweep: Vth" in done.stdout and out.exists(), done.stdout  # the run and its key figures
    imported = set(eval_free_list(done.stderr.strip().splitlines()[-1]))
    assert imported >= set(USED), imported
    assert not imported & set(NOT_FOR_AN_IV_SWEEP), sorted(imported & set(NOT_FOR_AN_IV_SWEEP))


def eval_free_list(text: str) -> list[str]:
    """The names of a printed list of module names ("['a.b', 'c']"), parsed without eval."""
    return [part.strip().strip("'\"") for part in text.strip("[]").split(",") if part.strip()]
