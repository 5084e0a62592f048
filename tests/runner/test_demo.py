"""``tspcm demo --quick``: the README's main job, end to end on the simulated bench: every procedure runs,
``tspcm analyze`` writes the summary and the report, and each run shows the behaviour it measures."""

import json

import pandas as pd
import pytest

from tspcm_lab import cli, plugins
from tspcm_lab.commands.demo import CHECKS, KEY_FIGURES
from tspcm_lab.store import open_run

pytestmark = pytest.mark.slow

OURS = [
    "iv-sweep",
    "pulse-train",
    "threshold-vs-weight",
    "spike-train",
    "learning-loop",
    "delay-recovery",
    "retention",
    "endurance",
    "pattern",
]


def test_quick_demo_runs_every_procedure_analyses_them_and_shows_each_behaviour(capsys, tmp_path):
    folder = tmp_path / "demo"
    code = cli.main(["demo", "--quick", "-o", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert set(OURS) <= set(plugins.names()) and set(OURS) <= set(KEY_FIGURES)
    index = json.loads((folder / "campaign.json").read_text())
    assert [r["procedure"] for r in index["runs"]] == OURS
    assert all(r["status"] == "completed" for r in index["runs"]), index["runs"]
    for record in index["runs"]:
        run = open_run(folder / record["file"])
        assert run.status == "completed" and run.seed == 42 and run.n_rows == record["n_rows"] > 0
        assert record["procedure"] in run.analysis  # tspcm analyze wrote the features back
    assert open_run(folder / index["runs"][-1]["file"]).bench["simulation"]["spec"] == "array=4x4;seed=42"
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary["procedure"]) == set(OURS)
    assert (folder / "report.html").stat().st_size > 10_000
    shown = out.split("what the runs show:")[1].split("files:")[0]
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == len(OURS)
    assert all("[ok:" in line for line in lines if line.split()[0] in CHECKS), shown
    assert "NOT SHOWN" not in out
