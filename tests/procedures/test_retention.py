"""retention on the simulated bench: the measured drift exponent is the model's effective one."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.retention import RetentionProcedure
from sim_backend import elements
from tspcm_lab import runner
from tspcm_lab.analysis import drift
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def test_drift_exponent_matches_the_models_effective_value(tmp_path):
    with runner.BenchSession.open("sim", seed=61) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = runner.build_procedure(RetentionProcedure, {
            "states": 1, "target_min_S": 30e-6, "duration_s": 1e5, "reads": 40}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "ret.h5", seed=61)
        assert outcome.status == "completed", outcome.message
        run = open_run(outcome.path)
        c = run.columns
        t = c["Time (s)"]
        assert t[0] == pytest.approx(1.0, rel=0.01) and t[-1] == pytest.approx(1e5, rel=0.01)
        assert sim.model.t_s > 1e5  # virtual time: 1e5 s of retention in well under a second
        # ground truth: the model's own conductance of this state at the read times
        m, st = sim.model, sim.model.state
        at = m.t_s - (t[-1] - t)
        g_true = elements.pcm_conductance(st.u[0], st.g_cryst_s[0], st.g_amorph_s[0],
                                          np.array([m.drift_factor(np.array([0]), at_s=a)[0] for a in at]))
    nu_model = drift.drift_exponent(t, 1 / g_true).nu
    measured = drift.drift_exponent(t, c["Resistance (Ohm)"])
    assert 0.001 < nu_model < 0.02  # partly crystalline: far below the amorphous 0.1
    assert measured.nu_ci_low > 0  # drift resolved
    assert measured.nu == pytest.approx(nu_model, rel=0.35), (measured, nu_model)
    features = {f.name: f.value for f in get_analysis("retention")(run).features}
    assert features["nu_state0"] == pytest.approx(measured.nu)


def test_first_read_after_duration_refused():
    procedure = RetentionProcedure()
    procedure.first_read_s, procedure.duration_s = 100.0, 10.0
    with pytest.raises(ParameterError) as err:
        procedure.validate()
    assert err.value.parameter == "first_read_s" and "10 s" in str(err.value)
