"""pattern on the simulated 4x4 array (built-in bench sim-4x4) through the switch matrix: amplitudes
calibrated per cell, the pattern memorized, forgotten by a partial RESET, relearned in fewer epochs."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.pattern import PatternProcedure, load_pattern
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run

THRESHOLD_S = 1e-6  # the procedure's read_threshold_S default


def cell_map(c, rows):
    g = np.full((4, 4), np.nan)
    g[c["Row"][rows].astype(int), c["Column"][rows].astype(int)] = c["Conductance (S)"][rows]
    return g


@pytest.mark.slow
def test_pattern_is_memorized_forgotten_and_relearned_in_fewer_epochs(tmp_path):
    with runner.BenchSession.open("sim-4x4", seed=3) as session:
        procedure = runner.build_procedure(PatternProcedure, {}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "pattern.h5", seed=3)
        model = pyvisa_tspcm.get_bench(session.spec).model
    assert outcome.status == "completed", outcome.message
    run = open_run(outcome.path)
    target = load_pattern("1001/0110/0110/1001")
    assert run.parameters["pattern"].value == "1001/0110/0110/1001"
    f = {x.name: x.value for x in get_analysis("pattern")(run).features}
    assert f["final_accuracy"] == 1.0
    assert 0 < f["epochs_retrain"] < f["epochs_first"] and f["savings"] > 0, f
    c = run.columns
    # one calibration per target cell; each target cell's spikes at its own amplitude, the one whose
    # confirmation train (the last one played) fired on >= 10 % of its spikes
    waves = run.waveforms
    amplitudes = []
    for r, col in np.argwhere(target):
        ladder = waves[f"calibration_r{r}c{col}"][0]
        amp = c["Spike amplitude (V)"][(c["Row"] == r) & (c["Column"] == col)]
        assert np.all(amp == pytest.approx(ladder.x[-1])) and ladder.y[-1] >= 0.1
        amplitudes.append(amp[0])
    assert 1.3 < min(amplitudes) <= max(amplitudes) < 2.0
    assert np.all(np.isnan(c["Spike amplitude (V)"][c["Target"] == 0]))
    # the memorized map (end of the retraining) and the model's own conductances agree
    last = (c["Stage"] == 1) & (c["Epoch"] == c["Epoch"][c["Stage"] == 1].max())
    g = cell_map(c, last)
    assert np.all(g[target] >= THRESHOLD_S) and np.all(np.isnan(g[~target]))  # untouched: below the read's range
    truth = model.pcm_conductance_s().reshape(4, 4)
    assert truth[target].min() > 3 * truth[~target].max()
    assert np.all(c["Accuracy"][last] == 1.0)
    # blank start, then the forgotten map: every target cell below the threshold again (the partial
    # RESET's dome puts it below the read's range: NaN), the model's own conductance above blank
    assert set(waves) >= {"map_stage0_start", "map_stage1_start"}
    blank = waves["map_stage0_start"][0].y.reshape(4, 4)
    forgotten = waves["map_stage1_start"][0].y.reshape(4, 4)
    assert np.all(np.isnan(blank))
    assert not np.any(forgotten[target] >= THRESHOLD_S)
    # a learned cell gets no more trains: fewer trains than target cells x epochs, and each target
    # cell's last train fired on >= 90 % of its spikes
    first = c["Stage"] == 0
    trained = first & np.isfinite(c["Firing probability"])
    assert trained.sum() < target.sum() * f["epochs_first"]
    for r, col in np.argwhere(target):
        cell = trained & (c["Row"] == r) & (c["Column"] == col)
        assert c["Firing probability"][cell][-1] >= 0.9


def test_pattern_from_a_file_and_bad_patterns_refused(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("10\n01\n")
    assert load_pattern(str(path)).tolist() == [[True, False], [False, True]]
    with runner.BenchSession.open("sim-4x4", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        for text, fragment in (
            ("10101/01010/10101/01010/10101", "4 x 4"),
            ("10/0z", "1/0"),
            ("00/00", "no 1 cell"),
            (str(tmp_path / "missing.txt"), "neither"),
        ):
            procedure = runner.build_procedure(PatternProcedure, {"pattern": text}, session)
            with pytest.raises(ParameterError) as err:
                procedure.validate()
            assert err.value.parameter == "pattern" and fragment in str(err.value)
        procedure = runner.build_procedure(PatternProcedure, {"forget_amplitude_V": 1.9}, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == "forget_amplitude_V" and "1.95 V" in str(err.value)
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())
