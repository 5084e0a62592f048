"""learning-loop on the simulated bench: training accelerates itself, retraining saves pulses, and
without heating from firing (pcm.heat_coupling = 0) nothing is learned."""

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


def test_retraining_after_a_partial_reset_needs_fewer_pulses(tmp_path):
    run, model = run_procedure(LearningLoopProcedure, tmp_path, {"max_trains": 30}, seed=8)
    c = run.columns
    f = features(run)
    assert 0 < f["pulses_retrain"] < f["pulses_first"], f
    assert f["savings"] > 0
    first = c["Stage"] == 0
    trained = first & (c["Train"] > 0)
    # firing and conductance rose together during the first training
    assert c["Firing probability"][trained][-1] >= 0.9 > c["Firing probability"][trained][0]
    assert model.pcm_conductance_s()[0] > 10e-6  # crystallized by the firing (fully RESET: ~2 uS)
    # the forgetting took the cell back below its trained conductance
    retrain = c["Stage"] == 1
    assert c["Conductance (S)"][retrain][0] < c["Conductance (S)"][trained][-1]
    assert np.all(np.diff(c["Pulse"][first]) == 10)


def test_without_heating_from_firing_there_is_no_acceleration(tmp_path):
    run, model = run_procedure(LearningLoopProcedure, tmp_path, {"max_trains": 12}, seed=8,
                               sim_options="pcm.heat_coupling=0")
    c = run.columns
    f = features(run)
    assert math.isnan(f["pulses_first"]) and math.isnan(f["savings"])
    first = (c["Stage"] == 0) & (c["Train"] > 0)
    p = c["Firing probability"][first]
    assert p.max() < 0.9
    assert p[-4:].mean() <= p[:4].mean() + 0.2, p  # no upward trend
    g = c["Conductance (S)"][c["Stage"] == 0]
    assert np.ptp(g) < 0.1 * g.mean()  # the state did not move
    assert model.amorphous_fraction()[0] == pytest.approx(1.0, abs=1e-6)


def test_a_forgetting_pulse_below_the_spikes_is_refused_before_any_output():
    with runner.BenchSession.open("sim", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = runner.build_procedure(LearningLoopProcedure, {"forget_amplitude_V": 1.5}, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == "forget_amplitude_V" and "1.75 V" in str(err.value)
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())
