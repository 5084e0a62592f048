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


def run_pulse_train(tmp_path, values, seed):
    with runner.BenchSession.open("sim", seed=seed) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        procedure = runner.build_procedure(PulseTrainProcedure, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "pt.h5", seed=seed)
        assert outcome.status == "completed", outcome.message
        return open_run(outcome.path), model.pcm_conductance_s()[0]


def test_conductance_rises_then_falls_in_every_cycle(tmp_path):
    run, g_model_end = run_pulse_train(tmp_path, {"cycles": 2, "read_every": 1}, seed=41)
    c = run.columns
    for cycle in (0, 1):
        pot = (c["Cycle"] == cycle) & (c["Phase"] == 1)
        dep = (c["Cycle"] == cycle) & (c["Phase"] == -1)
        assert c["Pulse"][pot].tolist() == list(range(21))
        g_pot, g_dep = c["Conductance (S)"][pot], c["Conductance (S)"][dep]
        valid = np.isfinite(g_pot)  # the RESET end is below the read's range: NaN, not a number
        assert valid.sum() >= 2 and np.nanmax(g_pot) > 10 * g_pot[valid][0]  # crystallization accelerates itself
        assert spearmanr(c["Pulse"][pot][valid], g_pot[valid])[0] > 0.7
        last = np.flatnonzero(np.isfinite(g_dep))[-1]
        assert not np.isfinite(g_dep[-1]) or g_dep[-1] < 0.1 * g_dep[0]  # the ladder melts the dome back
        assert last < g_dep.size - 1 or g_dep[last] < 0.1 * g_dep[0]
    features = {f.name: f.value for f in get_analysis("pulse-train")(run).features}
    assert features["p_gmax_S"] > 10 * features["p_gmin_S"]
    assert "Two-point ON-branch read" in str(run.metadata["read_method"].value)


def test_identical_partial_reset_pulses_depress_once(tmp_path):
    """The second and later identical partial-RESET pulses re-melt the same dome: each changes G by less
    than 20 % of the first one's change (a real cell's one-shot RESET), read through the instruments."""
    run, _ = run_pulse_train(
        tmp_path,
        {
            "cycles": 1,
            "read_every": 1,
            "potentiation_pulses": 20,
            "depression_pulses": 5,
            "reset_amplitude_V": 2.1,
            "reset_amplitude_step_V": 0.0,
        },
        seed=43,
    )
    c = run.columns
    dep = c["Phase"] == -1
    g = c["Conductance (S)"][dep]
    assert np.isfinite(g[0]) and np.isfinite(g[1]), g
    g = np.nan_to_num(g, nan=0.0)  # below the read's range (NaN): under ~0.7 uS, so a change of at most that
    first = abs(g[1] - g[0])
    assert first > 0.5 * g[0]
    for k in range(2, g.size):
        assert abs(g[k] - g[k - 1]) < 0.2 * first, (k, g)


def test_a_ladder_beyond_the_pulse_limit_is_refused():
    with runner.BenchSession.open("sim", seed=42) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = runner.build_procedure(
            PulseTrainProcedure,
            {"set_amplitude_V": 2.0, "set_amplitude_step_V": 0.2, "potentiation_pulses": 20},
            session,
        )
        with pytest.raises(ParameterError) as err:
            procedure.validate()  # 2.0 + 19 * 0.2 = 5.8 V > the 5 V [pulse] limit
        assert err.value.parameter == "set_amplitude_step_V" and "5 V" in str(err.value)
        procedure = runner.build_procedure(PulseTrainProcedure, {"reset_amplitude_V": 7.0}, session)
        with pytest.raises(ParameterError, match="reset_amplitude_V.*up to 5 V"):
            procedure.validate()
        assert not any(src.enabled for src in sim.sources.values()) and sim.model.state.fire_count[0] == 0
