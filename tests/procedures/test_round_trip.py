"""Round trip: procedures run on the simulated cell, their runs analysed with the same code a user's runs
get, give back the parameters the cell was configured with (data/device_params.toml). The cell's own
threshold is drawn around ``ts.vth_v`` (device-to-device spread), so the threshold is compared with the
cell's drawn value; every other parameter with the file's."""

import pytest

import pyvisa_tspcm
from procedures.delay_recovery import DelayRecoveryProcedure
from procedures.iv_sweep import IVSweepProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def run_and_analyse(cls, values, tmp_path, seed):
    with runner.BenchSession.open("sim", seed=seed) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        procedure = runner.build_procedure(cls, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / f"{cls.name}_{seed}.h5", seed=seed)
        assert outcome.status == "completed", outcome.message
        run = open_run(outcome.path)
        features = {f.name: f.value for f in get_analysis(cls.name)(run).features}
        return features, model


@pytest.mark.parametrize("seed", [1, 2])
def test_iv_sweep_gives_back_the_switch_threshold_hold_and_on_resistance(tmp_path, seed):
    # 100 uA compliance: the first cycle SETs the cell (a DC SET), so the later cycles see the switch alone
    f, model = run_and_analyse(IVSweepProcedure, {"cycles": 6, "compliance_A": 100e-6}, tmp_path, seed)
    p = model.params
    assert model.amorphous_fraction()[0] < 0.01
    assert f["vth_median_V"] == pytest.approx(model.state.vth_device_v[0], rel=0.05)
    assert f["vhold_mean_V"] == pytest.approx(p["ts.vhold_v"], rel=0.05)
    # the on-branch slope is the stack's: the switch's R_on in series with the crystalline PCM
    assert f["r_on_mean_ohm"] == pytest.approx(p["ts.r_on_ohm"] + p["pcm.r_cryst_ohm"], rel=0.2)
    assert f["r_on_mean_ohm"] == pytest.approx(p["ts.r_on_ohm"], rel=0.2)
    # the first cycle's threshold was the RESET cell's, higher: hence the median, not the mean
    assert f["vth_mean_V"] > f["vth_median_V"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_delay_recovery_gives_back_the_delay_law_and_the_recovery_time(tmp_path, seed):
    f, model = run_and_analyse(DelayRecoveryProcedure, {}, tmp_path, seed)
    p = model.params
    assert f["td0_s"] == pytest.approx(p["ts.t_d0_s"], rel=0.2)
    assert f["v0_V"] == pytest.approx(p["ts.v0_delay_v"], rel=0.2)
    assert f["recovery_tau_s"] == pytest.approx(p["ts.tau_recovery_s"], rel=0.2)
    # the threshold right after turn-off: near the hold voltage, far below the recovered one
    assert p["ts.vhold_v"] < f["recovery_start_V"] < 0.6 * model.state.vth_device_v[0]
