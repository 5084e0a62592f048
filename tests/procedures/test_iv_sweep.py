"""iv-sweep on the simulated bench: Vth > Vhold in every cycle, seen through the SMU; safe refusals."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.iv_sweep import IVSweepProcedure, cycle_levels
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def run_procedure(cls, tmp_path, values, *, seed):
    with runner.BenchSession.open("sim", seed=seed) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        u_before = model.amorphous_fraction()[0]
        procedure = runner.build_procedure(cls, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / f"{cls.name}.h5", seed=seed)
        assert outcome.status == "completed", outcome.message
        assert procedure.shutdown_problems == []
        return open_run(outcome.path), u_before, model.amorphous_fraction()[0]


def test_threshold_above_hold_in_every_cycle_and_the_cell_undisturbed(tmp_path):
    run, u_before, u_after = run_procedure(IVSweepProcedure, tmp_path, {"cycles": 3}, seed=31)
    c = run.columns
    assert sorted(set(c["Cycle"])) == [0, 1, 2]
    levels = cycle_levels(2.5, 0.01, "positive")
    assert np.allclose(c["Voltage (V)"][c["Cycle"] == 0], levels)
    for k in range(3):
        sel = c["Cycle"] == k
        vth, vhold = c["Cycle Vth (V)"][sel][0], c["Cycle Vhold (V)"][sel][0]
        assert 0.6 < vhold < vth < 2.2, (k, vth, vhold)
        i = c["Current (A)"][sel]
        assert i.max() == pytest.approx(10e-6, rel=0.05)  # the compliance held the fired cell
        folded = sel & (c["Voltage (V)"] > 1.5) & (c["Current (A)"] > 9e-6)
        assert folded.any() and np.all(c["Voltage readback (V)"][folded] < 1.3)  # readback folds back
    assert run.parameters["series_resistance_ohm"].value == 1050.0  # resolved from the bench file
    features = {f.name: f.value for f in get_analysis("iv-sweep")(run).features}
    assert features["hold_below_threshold_fraction"] == 1.0 and features["n_cycles"] == 3
    assert features["vth_mean_V"] == pytest.approx(np.mean(c["Cycle Vth (V)"][c["Point"] == 0]))
    assert u_after == pytest.approx(u_before, rel=1e-6)  # 10 uA compliance does not program the PCM


@pytest.mark.parametrize(
    "values, parameter, allowed",
    [
        ({"stop_voltage_V": 6.0}, "stop_voltage_V", "up to 5 V"),  # bench limit [smu] max_voltage
        ({"compliance_A": 0.05}, "compliance_A", "up to 0.01 A"),  # bench limit max_compliance_current
        ({"cycles": 0}, "cycles", "from 1 to 10000"),
        ({"step_V": 0.0005}, "step_V", "step_V >="),  # more points than a sweep holds
    ],
)
def test_invalid_parameters_refused_before_any_output(values, parameter, allowed):
    with runner.BenchSession.open("sim", seed=32) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = IVSweepProcedure()
        procedure.bench = session.bench
        for key, value in values.items():
            setattr(procedure, key, value)  # bypass PyMeasure's own check: validate() must catch it
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == parameter
        assert parameter in str(err.value) and allowed in str(err.value)
        assert not any(src.enabled for src in sim.sources.values()) and sim.model.t_s == t0


def test_pulsed_mode_fires_from_the_off_state_at_every_point(tmp_path):
    run, _, _ = run_procedure(IVSweepProcedure, tmp_path, {"cycles": 1, "mode": "pulsed", "step_V": 0.02}, seed=33)
    c = run.columns
    fired = c["Current (A)"] > 5e-6
    up = c["Direction"] > 0
    v_first = c["Voltage (V)"][up & fired].min()
    # each point starts from the off state: the down branch fires only where the up branch did
    assert np.all(c["Voltage (V)"][~up & fired] >= v_first - 0.1)
