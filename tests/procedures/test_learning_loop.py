"""learning-loop on the simulated bench: the spike amplitude is calibrated on the device, training
accelerates itself, a partial RESET forgets but leaves a trace, retraining saves pulses; without heating
from firing (pcm.heat_coupling = 0) nothing is learned."""

import math

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.learning_loop import LearningLoopProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def run_procedure(cls, tmp_path, values, *, seed, sim_options=""):
    with runner.BenchSession.open("sim", seed=seed, sim_options=sim_options) as session:
        procedure = runner.build_procedure(cls, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / f"{cls.name}.h5", seed=seed)
        assert outcome.status == "completed", outcome.message
        assert outcome.off_problems == []
        return open_run(outcome.path), pyvisa_tspcm.get_bench(session.spec).model


def features(run):
    return {f.name: f.value for f in get_analysis(run.procedure)(run).features}


def test_calibrated_training_accelerates_and_retraining_after_a_partial_reset_saves_pulses(tmp_path):
    run, model = run_procedure(LearningLoopProcedure, tmp_path, {}, seed=4)
    c = run.columns
    # the amplitude was calibrated on this device and recorded: the ladder from 1.3 V to the lowest
    # amplitude that fired >= 2 of 20 spikes, then 50 mV or more above it, the 40-spike train that
    # confirmed >= 10 % firing at the amplitude used
    assert run.parameters["spike_amplitude_V"].value == 0
    ladder = run.waveforms["calibration"][0]
    amplitude = c["Spike amplitude (V)"]
    assert np.all(amplitude == amplitude[0]) and 1.3 < amplitude[0] < 1.95
    assert ladder.x[0] == pytest.approx(1.3) and ladder.x[-1] == pytest.approx(amplitude[0])
    assert ladder.y[-1] >= 0.1 and amplitude[0] >= ladder.x[ladder.y >= 0.1].min() + 0.05 - 1e-9
    # retraining reached the criterion in fewer pulses (analysis registry on the run file)
    f = features(run)
    assert 0 < f["pulses_retrain"] < f["pulses_first"], f
    assert f["savings"] > 0
    first = (c["Stage"] == 0) & (c["Train"] > 0)
    assert np.all(np.diff(c["Pulse"][c["Stage"] == 0]) == 5)
    p = c["Firing probability"][first]
    assert p[-1] >= 0.9 > p[:3].mean(), p  # near-threshold spikes at first, then the loop closed
    # the conductance reads are the PCM's own where it is within the read's range, NaN (not a number)
    # below it: a cell that has learned to fire is still on the RESET side
    g = c["Conductance (S)"]
    assert np.all(np.isnan(g) | (g > 0.5e-6))
    truth = model.pcm_conductance_s()[0]
    assert (np.isnan(g[-1]) and truth < 0.7e-6) or g[-1] == pytest.approx(truth, rel=0.1)
    assert "Two-point ON-branch read" in str(run.metadata["read_method"].value)


def test_savings_shrink_as_forgetting_grows_and_a_full_reset_saves_least(tmp_path):
    """The same device, trained the same way: the larger the dome the forgetting pulse re-melts, the
    less the retraining saves; a full RESET (the whole volume molten, no crystalline boundary left to
    grow from) saves least."""
    found = []
    for forget_v in (2.1, 2.15, 2.5):
        run, _ = run_procedure(
            LearningLoopProcedure, tmp_path / f"f{forget_v}", {"forget_amplitude_V": forget_v}, seed=4
        )
        found.append(features(run)["savings"])
    assert found[0] >= found[1] > found[2], found
    assert found[2] <= 0.3, found


def test_without_heating_from_firing_there_is_no_acceleration(tmp_path):
    run, model = run_procedure(
        LearningLoopProcedure, tmp_path, {"max_trains": 12}, seed=2, sim_options="pcm.heat_coupling=0"
    )
    c = run.columns
    f = features(run)
    assert math.isnan(f["pulses_first"]) and math.isnan(f["savings"])
    assert len(run.waveforms["calibration"][0].y) > 0  # it fires now and then: the calibration found one
    first = (c["Stage"] == 0) & (c["Train"] > 0)
    p = c["Firing probability"][first]
    assert p.max() < 0.9
    assert p[-4:].mean() <= p[:4].mean() + 0.2, p  # no upward trend
    g = c["Conductance (S)"][c["Stage"] == 0]
    assert np.all(np.isnan(g))  # still blank (below the read's range): the state did not move
    assert model.amorphous_fraction()[0] == pytest.approx(1.0, abs=1e-6)


def test_retraining_and_savings_are_read_only_after_a_first_training_that_reached_the_criterion(tmp_path):
    """first_reached is a key figure; a "retraining" after a first training that ran out of trains is no
    retraining (it continues a first training) and gets no count or savings. The same cell, trained without
    forgetting (a wait of 0 s): with 80 trains allowed its first training reaches the criterion; with 3 it runs
    out, and the retraining then reaches it within a few trains (what the analysis used to report as the retraining's
    count). `tspcm analyze` writes each feature's meaning next to it; the key-figures line says yes/no."""
    import h5py

    from tspcm_lab.analysis.batch import analyze_run_file
    from tspcm_lab.keyfigures import figures, run_features

    no_forgetting = {"forget_mode": "wait", "forget_wait_s": 0.0}
    learned, _ = run_procedure(LearningLoopProcedure, tmp_path / "a", {**no_forgetting, "max_trains": 80}, seed=4)
    f = features(learned)
    assert f["first_reached"] == 1.0 and f["pulses_first"] > 15 and 0 < f["pulses_retrain"] < f["pulses_first"], f
    assert figures("learning-loop", f).startswith("first training reached the criterion yes; pulses to criterion")

    cut, _ = run_procedure(LearningLoopProcedure, tmp_path / "b", {**no_forgetting, "max_trains": 3}, seed=4)
    c = cut.columns
    retraining = c["Firing probability"][(c["Stage"] == 1) & (c["Train"] > 0)]
    assert retraining.size and retraining.max() >= 0.9, retraining  # the rows hold a "retraining" that reached it
    f = features(cut)
    assert f["first_reached"] == 0.0 and math.isnan(f["pulses_first"]), f
    assert math.isnan(f["pulses_retrain"]) and math.isnan(f["savings"]), f  # not the retraining's count: flagged
    assert figures("learning-loop", f) == "first training reached the criterion no"
    assert analyze_run_file(cut.path).error is None
    with h5py.File(cut.path, "r") as h5:  # readable without our code: what first_reached and the NaN mean
        group = h5["analysis/learning-loop"]
        assert group["first_reached"][()] == 0 and "0: it ended without" in group["first_reached"].attrs["method"]
        assert "NaN unless the first training reached it" in group["pulses_retrain"].attrs["criterion"]
    assert run_features(cut.path)[1]["first_reached"] == 0.0  # the stored analysis, read back
    # a run that ended during its first training (no retraining rows): whether it would have reached is not known
    from tspcm_lab.analysis.runs import _stage_counts

    stage, pulse, prob = (c[k][c["Stage"] == 0] for k in ("Stage", "Pulse", "Firing probability"))
    assert math.isnan(_stage_counts(stage, pulse, prob, 0.9)[0])


@pytest.mark.parametrize(
    "values, parameter, fragment",
    [
        ({"forget_amplitude_V": 1.85}, "forget_amplitude_V", "1.9 V"),  # below the calibration's top (+ margin)
        ({"spike_amplitude_V": 1.75, "forget_amplitude_V": 1.5}, "forget_amplitude_V", "1.75 V"),
        ({"calibration_start_V": 2.0, "calibration_stop_V": 1.8}, "calibration_stop_V", "2 V"),
        ({"spike_amplitude_V": 0.05}, "spike_amplitude_V", "0 (calibrate)"),
        ({"calibration_stop_V": 6.0, "forget_amplitude_V": 6.5}, "forget_amplitude_V", "5 V"),  # bench limit
    ],
)
def test_bad_parameters_are_refused_before_any_output(values, parameter, fragment):
    with runner.BenchSession.open("sim", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = runner.build_procedure(LearningLoopProcedure, values, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == parameter and fragment in str(err.value), str(err.value)
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())


@pytest.mark.slow
def test_savings_shrink_as_forgetting_grows_and_a_full_reset_leaves_the_least(tmp_path):
    """A partial RESET re-melts a dome bounded by crystalline material, which regrows without incubation
    (savings); a larger forgetting pulse melts more, a full RESET all of it. Mean over three seeds."""
    mean = {}
    for amp in (2.0, 2.15, 2.6):
        savings = []
        for seed in (0, 1, 2):
            with runner.BenchSession.open("sim", seed=seed) as session:
                procedure = runner.build_procedure(LearningLoopProcedure, {"forget_amplitude_V": amp}, session)
                runner.validate(procedure)
                outcome = runner.execute(procedure, session, tmp_path / f"l_{amp}_{seed}.h5", seed=seed)
            assert outcome.status == "completed", outcome.message
            f = {x.name: x.value for x in get_analysis("learning-loop")(open_run(outcome.path)).features}
            savings.append(f["savings"])
        mean[amp] = float(np.mean(savings))
    assert mean[2.0] > mean[2.15] > mean[2.6], mean
    assert mean[2.0] > 0.5 and mean[2.6] < 0.3, mean


def test_progress_follows_the_calibration_and_the_learning_not_the_maximum_trains(tmp_path):
    """The window's progress bar: it moves during the calibration (its share), then with the trains or
    the firing probability toward the criterion, never back, and ends at 100 % -- a run that learns in
    a few trains is not stuck low because max_trains allows 200 each training."""
    seen = []

    class Record(runner.Progress):
        def update(self, percent):
            seen.append(percent)

    session = runner.BenchSession.open("sim", seed=42)
    try:
        procedure = runner.build_procedure(LearningLoopProcedure, {"max_trains": 200}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "ll.h5", seed=42, progress=Record())
    finally:
        session.close()
    assert outcome.status == "completed"
    from procedures.learning_loop import CALIBRATION_SHARE

    assert [p for p in seen if p > 0][0] == pytest.approx(100 * CALIBRATION_SHARE)  # the calibration counted
    assert all(b >= a for a, b in zip(seen, seen[1:])) and seen[-1] == 100
    trains = open_run(tmp_path / "ll.h5").columns["Train"]
    assert trains.max() < 100  # learned well before the 200 trains allowed ...
    assert np.median(seen) > 30  # ... and the bar showed it (counted against 2 x 200 it stays near 20 %)


def test_fit_check_reports_a_device_whose_cells_fail_the_calibration_as_a_miss_not_bad_input(tmp_path):
    """`tspcm fit --check` of a learning-loop run with a device file on whose simulated cells the procedure's own
    calibration finds no spike amplitude (a cell threshold above its 1.3-1.9 V ladder): a prediction that misses
    (exit 1, the figures NO, the failures said), not an error (exit 2): the round trip's slow-high device fails the
    calibration on some of its own cells (docs/fitting.md, "Held out: the learning loop"). Every simulated cell
    fails here (2.1 V): with some of them completing, whether the rest is a miss is the first_reached share's to
    say (a simulated run of the 1.7 V file that calibrated on a rare firing and did not learn is no miss against
    one measured cell: 0 of 1 against 1 of 1, test_fit_intervals)."""
    import re
    import subprocess
    import sys

    run, _ = run_procedure(LearningLoopProcedure, tmp_path, {}, seed=4)
    assert math.isfinite(features(run)["pulses_first"])
    (tmp_path / "high.toml").write_text("[ts]\nvth_v = 2.1\n")
    r = subprocess.run(
        [sys.executable, "-m", "tspcm_lab", "fit", "--check", "high.toml", str(run.path), "--seeds", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    rows = {ln.split()[1]: ln.split() for ln in r.stdout.splitlines() if ln.startswith("learning-loop")}
    assert rows["pulses_first"][3] == "nan" and rows["pulses_first"][7] == "NO", rows
    assert rows["first_reached"][2:6] == ["1", "of", "1", "-"] and rows["first_reached"][8] == "NO", rows
    assert re.search(
        r"conditions: learning-loop: 2 of 2 simulated runs failed \(simulated learning-loop run "
        r"failed: RuntimeError: calibration: no spike amplitude from 1.3 V to 1.9 V",
        r.stdout,
    ), r.stdout
