"""delay-recovery on the simulated bench: the delay falls with overdrive, the threshold recovers."""

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
        procedure = runner.build_procedure(DelayRecoveryProcedure, {
            "delay_repeats": 4, "recovery_repeats": 4,
            "recovery_intervals_s": "40e-9, 100e-9, 600e-9, 1.5e-6, 3e-6"}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "dr.h5", seed=3)
    assert outcome.status == "completed", outcome.message
    run = open_run(outcome.path)
    c = run.columns
    delay_rows = np.isnan(c["Interval (s)"])
    v, td = c["Voltage (V)"][delay_rows], c["Delay (s)"][delay_rows]
    ok = np.isfinite(td)
    assert ok.sum() >= 0.7 * ok.size
    assert spearmanr(v[ok], td[ok]).statistic < -0.6
    assert np.median(td[v == v.max()]) < 0.5 * np.nanmedian(td[v == v.min()])
    rec = ~delay_rows
    interval, prob = c["Interval (s)"][rec], c["Firing probability"][rec]
    assert np.all(np.diff(interval) > 0) and np.all(c["Pairs"][rec] > 0)
    assert prob[0] >= 0.75 and prob[-1] <= 0.25, prob  # fires before recovery, not after
    f = {x.name: x.value for x in get_analysis("delay-recovery")(run).features}
    assert f["v0_V"] > 0 and 1e-8 < f["recovery_tau_s"] < 3e-6


@pytest.mark.parametrize("values, parameter", [
    ({"probe_amplitude_V": 1.6}, "probe_amplitude_V"),          # not below the conditioning pulse
    ({"delay_amplitudes_V": "1.2, 7"}, "delay_amplitudes_V"),    # above the 5 V pulse limit
    ({"recovery_intervals_s": "1e-9"}, "recovery_intervals_s"),  # shorter than one arb sample
])
def test_invalid_parameters_are_refused_before_any_output(values, parameter):
    with runner.BenchSession.open("sim", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = runner.build_procedure(DelayRecoveryProcedure, values, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == parameter
        assert sim.model.t_s == t0 and not any(s.enabled for s in sim.sources.values())
