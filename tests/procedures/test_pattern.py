"""pattern on a simulated 4x4 array through the switch matrix: memorized, forgotten, relearned faster."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.pattern import PatternProcedure, load_pattern
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.bench import resolve_bench_path
from tspcm_lab.store import open_run

# The simulated bench's 7709 crossbar: matrix row 1 (source bus) reaches array row i on matrix column
# i + 1, matrix row 2 (sense bus) array column j on matrix column 5 + j (sim_backend.bench.route).
MATRIX_4X4 = "row_channels = [101, 102, 103, 104]\ncol_channels = [113, 114, 115, 116]\n"


@pytest.fixture
def array_bench(tmp_path):
    """The built-in simulated bench with its matrix table for a 4x4 array."""
    text = resolve_bench_path("sim").read_text()
    head, _, _ = text.partition("[matrix]")
    matrix_lines = [line for line in text.partition("[matrix]")[2].splitlines()
                    if line.strip().startswith(("driver", "resource"))]
    path = tmp_path / "sim-4x4.toml"
    path.write_text(head + "[matrix]\n" + "\n".join(matrix_lines) + "\n" + MATRIX_4X4)
    return path


def test_pattern_is_memorized_and_relearned_in_fewer_epochs(tmp_path, array_bench):
    with runner.BenchSession.open(array_bench, seed=2, sim_options="array=4x4") as session:
        procedure = runner.build_procedure(PatternProcedure, {"max_epochs": 8}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "pattern.h5", seed=2)
        model = pyvisa_tspcm.get_bench(session.spec).model
    assert outcome.status == "completed", outcome.message
    run = open_run(outcome.path)
    f = {x.name: x.value for x in get_analysis("pattern")(run).features}
    assert f["final_accuracy"] == 1.0
    assert 0 < f["epochs_retrain"] < f["epochs_first"] and f["savings"] > 0, f
    target = load_pattern("1001/0110/0110/1001")
    c = run.columns
    last = (c["Stage"] == c["Stage"].max()) & (c["Epoch"] == c["Epoch"][c["Stage"] == 1].max())
    g = np.full((4, 4), np.nan)
    g[c["Row"][last].astype(int), c["Column"][last].astype(int)] = c["Conductance (S)"][last]
    assert np.all(g[target] >= 30e-6) and np.all(g[~target] < 30e-6)
    # the model agrees: the target cells crystallized, the others stayed RESET
    truth = model.pcm_conductance_s().reshape(4, 4)
    assert truth[target].min() > 3 * truth[~target].max()
    assert np.all(c["Accuracy"][last] == 1.0)
    maps = run.waveforms
    assert set(maps) == {"map_stage0_start", "map_stage1_start"}
    forgotten = maps["map_stage1_start"][0].y.reshape(4, 4)  # after the partial RESET of the targets
    assert np.mean((forgotten >= 30e-6) == target) < 1.0
    assert run.parameters["pattern"].value == "1001/0110/0110/1001"


def test_pattern_from_a_file_and_bad_patterns_refused(tmp_path, array_bench):
    path = tmp_path / "x.txt"
    path.write_text("10\n01\n")
    assert load_pattern(str(path)).tolist() == [[True, False], [False, True]]
    with runner.BenchSession.open(array_bench, seed=1, sim_options="array=4x4") as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        for text, fragment in (("10101/01010/10101/01010/10101", "4 x 4"), ("10/0z", "1/0"),
                               ("00/00", "no 1 cell"), (str(tmp_path / "missing.txt"), "neither")):
            procedure = runner.build_procedure(PatternProcedure, {"pattern": text}, session)
            with pytest.raises(ParameterError) as err:
                procedure.validate()
            assert err.value.parameter == "pattern" and fragment in str(err.value)
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())
