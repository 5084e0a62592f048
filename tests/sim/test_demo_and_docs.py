"""`python -m sim_backend.demo` passes its own checks against the literature ranges, and docs/model.md
carries the parameter table of the parameter file as it is now (regenerate with the demo's --markdown)."""

import subprocess
import sys
from pathlib import Path

import pytest

from sim_backend.demo import parameter_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_model_demo_finds_every_behaviour_in_range(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "sim_backend.demo", "--markdown", str(tmp_path / "m.md")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    table = (tmp_path / "m.md").read_text()
    assert table.count("| ok |") >= 10 and "out of range" not in table


def test_docs_model_has_the_current_parameter_table():
    body = parameter_table().split("\n", 1)[1]
    assert body in (ROOT / "docs" / "model.md").read_text(), (
        "docs/model.md is stale: python -m sim_backend.demo --figures docs/model --markdown docs/model/measured.md"
    )
