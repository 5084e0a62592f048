"""delay-recovery on the simulated bench, set relative to the measured threshold: the delay falls with
overdrive, and a probe below the threshold fires shortly after a firing but not once it has recovered."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.delay_recovery import DelayRecoveryProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def test_delay_falls_with_overdrive_and_the_threshold_recovers(tmp_path):
    with runner.BenchSession.open("sim", seed=3) as session:
        procedure = runner.build_procedure(
            DelayRecoveryProcedure,
            {
                "delay_repeats": 4,
                "recovery_repeats": 4,
                "recovery_intervals_s": "40e-9, 100e-9, 200e-9, 600e-9, 1.5e-6, 3e-6",
            },
            session,
        )
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "dr.h5", seed=3)
        model = pyvisa_tspcm.get_bench(session.spec).model
    assert outcome.status == "completed", outcome.message
    run = open_run(outcome.path)
    c = run.columns
    # the threshold was measured (SMU ramps) and is the switch's own: this device's is 1.10 V, 10 % above
    # the nominal 1.0 V, which a fixed probe or fixed amplitudes would not know
    vth = c["Threshold (V)"]
    assert np.all(vth == vth[0]) and vth[0] == pytest.approx(model.state.vth_device_v[0], rel=0.05)
    delay_rows = np.isnan(c["Interval (s)"])
    v, od, td = c["Voltage (V)"][delay_rows], c["Overdrive (V)"][delay_rows], c["Delay (s)"][delay_rows]
    assert np.allclose(v, vth[0] + od)
    ok = np.isfinite(td)
    assert ok.sum() >= 0.7 * ok.size
    assert spearmanr(od[ok], td[ok]).statistic < -0.5  # each delay is a Poisson draw about its mean
    assert np.median(td[od == od.max()]) < 0.5 * np.nanmedian(td[od == od.min()])
    rec = ~delay_rows
    interval, prob = c["Interval (s)"][rec], c["Firing probability"][rec]
    fraction = c["Probe fraction"][rec]
    assert sorted(set(fraction)) == [0.6, 0.75, 0.9]
    assert np.allclose(c["Voltage (V)"][rec], fraction * vth[0], atol=1e-6)  # the probes, relative to Vth
    for f_probe in (0.6, 0.75, 0.9):
        sel = fraction == f_probe
        assert np.all(np.diff(interval[sel]) > 0) and np.all(c["Pairs"][rec][sel] > 0)
        assert prob[sel][0] >= 0.75 and prob[sel][-1] <= 0.25, prob[sel]  # fires before recovery, not after
    # a higher probe needs a more recovered threshold to stop firing: a later crossing
    half = [interval[(fraction == f_probe) & (prob < 0.5)].min() for f_probe in (0.6, 0.75, 0.9)]
    assert half[0] <= half[1] <= half[2] and half[0] < half[2]  # (on this coarse grid of intervals)
    f = {x.name: x.value for x in get_analysis("delay-recovery")(run).features}
    assert f["v0_V"] > 0 and 1e-7 < f["recovery_tau_s"] < 2e-6, f  # the model's tau: 300 ns


@pytest.mark.parametrize(
    "values, parameter",
    [
        ({"probe_fractions": "0.5, 1.2"}, "probe_fractions"),  # not below the threshold
        ({"delay_overdrives_V": "0.1, lots"}, "delay_overdrives_V"),
        ({"threshold_V": 4.8}, "conditioning_overdrive_V"),  # 4.8 V + 0.5 V above the 5 V pulse limit
        ({"threshold_stop_V": 4.8}, "threshold_stop_V"),  # a threshold found there would be too
        ({"recovery_intervals_s": "1e-9"}, "recovery_intervals_s"),  # shorter than one arb sample
    ],
)
def test_invalid_parameters_are_refused_before_any_output(values, parameter):
    with runner.BenchSession.open("sim", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        with pytest.raises((ParameterError, runner.ParameterInputError)) as err:  # on setting or validating
            runner.validate(runner.build_procedure(DelayRecoveryProcedure, values, session))
        assert err.value.parameter == parameter and parameter in str(err.value)
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())
