"""pulse-train on the simulated bench: conductance rising under SET pulses, falling under partial RESETs."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.pulse_train import PulseTrainProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def test_conductance_rises_then_falls_in_every_cycle(tmp_path):
    with runner.BenchSession.open("sim", seed=41) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        procedure = runner.build_procedure(PulseTrainProcedure, {
            "cycles": 2, "potentiation_pulses": 16, "depression_pulses": 8, "read_every": 2,
            "reset_amplitude_V": 2.2}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "pt.h5", seed=41)
        assert outcome.status == "completed", outcome.message
        g_model_end = model.pcm_conductance_s()[0]
    run = open_run(outcome.path)
    c = run.columns
    for cycle in (0, 1):
        pot = (c["Cycle"] == cycle) & (c["Phase"] == 1)
        dep = (c["Cycle"] == cycle) & (c["Phase"] == -1)
        assert c["Pulse"][pot].tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16]
        g_pot, g_dep = c["Conductance (S)"][pot], c["Conductance (S)"][dep]
        assert g_pot[-1] > 2 * g_pot[0] and spearmanr(c["Pulse"][pot], g_pot)[0] > 0.9
        assert g_dep[-1] < 0.6 * g_dep[0] and spearmanr(c["Pulse"][dep], g_dep)[0] < -0.9
    assert c["Conductance (S)"][-1] == pytest.approx(g_model_end, rel=0.2)  # the read sees the cell
    features = {f.name: f.value for f in get_analysis("pulse-train")(run).features}
    assert features["d_fit_r2"] > 0.8, features  # (potentiation starts below the read's valid range)
    assert features["p_gmax_S"] > 2 * features["p_gmin_S"]
    assert "V_read = 2 V" in str(run.metadata["read_method"].value)


def test_a_ladder_beyond_the_pulse_limit_is_refused():
    with runner.BenchSession.open("sim", seed=42) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = runner.build_procedure(PulseTrainProcedure, {
            "set_amplitude_V": 2.0, "set_amplitude_step_V": 0.2, "potentiation_pulses": 20}, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()  # 2.0 + 19 * 0.2 = 5.8 V > the 5 V [pulse] limit
        assert err.value.parameter == "set_amplitude_step_V" and "5 V" in str(err.value)
        procedure = runner.build_procedure(PulseTrainProcedure, {"reset_amplitude_V": 7.0}, session)
        with pytest.raises(ParameterError, match="reset_amplitude_V.*up to 5 V"):
            procedure.validate()
        assert not any(src.enabled for src in sim.sources.values()) and sim.model.state.fire_count[0] == 0
