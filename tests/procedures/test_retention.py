"""retention on the simulated bench: the measured drift exponent is the model's effective one."""

import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.retention import RetentionProcedure
from tspcm_lab import runner
from tspcm_lab.analysis import drift
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def test_drift_exponent_of_reset_side_states_is_the_configured_one(tmp_path):
    """The amorphous part of a series mushroom cell carries almost all of a RESET-side state's resistance,
    so the drift exponent read through the instruments is the configured nu (within 20 %)."""
    with runner.BenchSession.open("sim", seed=61) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = runner.build_procedure(
            RetentionProcedure,
            {"states": 2, "target_min_S": 1e-6, "target_max_S": 5e-6, "duration_s": 1e4, "reads": 25},
            session,
        )
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "ret.h5", seed=61)
        assert outcome.status == "completed", outcome.message
        assert sim.model.t_s > 2e4  # virtual time: 2 x 1e4 s of retention in well under a second
        nu_configured = sim.model.params["pcm.nu_drift"]
    run = open_run(outcome.path)
    c = run.columns
    t = c["Time (s)"]
    assert t[0] == pytest.approx(1.0, rel=0.01) and t[-1] == pytest.approx(1e4, rel=0.01)
    features = {f.name: f.value for f in get_analysis("retention")(run).features}
    for state in (0, 1):
        sel = c["State"] == state
        measured = drift.drift_exponent(t[sel], c["Resistance (Ohm)"][sel])
        assert measured.nu == pytest.approx(nu_configured, rel=0.2), (state, measured)
        assert features[f"nu_state{state}"] == pytest.approx(measured.nu)


def test_first_read_after_duration_refused():
    procedure = RetentionProcedure()
    procedure.first_read_s, procedure.duration_s = 100.0, 10.0
    with pytest.raises(ParameterError) as err:
        procedure.validate()
    assert err.value.parameter == "first_read_s" and "10 s" in str(err.value)
