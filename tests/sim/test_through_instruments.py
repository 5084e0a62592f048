"""The device model v2 seen through the instruments an engineer would use: PyMeasure's Keithley 2450
driver through the SMU role, over @tspcm, with plain DC staircases and the two-point read.

Must-show 1 of the device-model issue: for every PCM state from full RESET to full SET, one step of at
least 100x at the cell threshold and turn-off at a lower voltage going down, at any compliance from 10 to
100 uA; the threshold falls monotonically with the read conductance, by at least 25 % between full
RESET and the most crystalline readable state.
"""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures import library as common
from tspcm_lab import runner

STATES_U = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0)


def staircase(bench, compliance_a):
    """0 -> 2.2 V -> 0 in 20 mV steps through the SMU: (levels, currents, switching voltage, turn-off)."""
    sweep = common.measure_threshold(bench, stop_voltage_v=2.2, step_v=0.02, compliance_a=compliance_a, hold=True)
    levels = common.ramp_levels(0.0, 2.2, 0.02, down=True)
    return levels, np.abs(np.asarray(sweep.current_A)), sweep.threshold_V, sweep.hold_V


@pytest.mark.parametrize("compliance_a", [10e-6, 30e-6, 100e-6])
def test_one_step_of_100x_at_every_state_and_turn_off_lower(compliance_a):
    with runner.BenchSession.open("sim", seed=12) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        for u in STATES_U:
            model.set_state(u=u)
            levels, current, vth, vhold = staircase(session.bench, compliance_a)
            n = levels.size // 2 + 1
            up_v, up_i = levels[:n], current[:n] + 1e-15
            ok = up_v >= 0.1
            ratios = up_i[1:][ok[1:] & ok[:-1]] / up_i[:-1][ok[1:] & ok[:-1]]
            assert ratios.max() >= 100, (u, ratios.max())
            assert np.sum(ratios > 10) == 1, (u, ratios[ratios > 10])  # one switching event, not steps
            assert vhold < vth - 0.1, (u, vth, vhold)


def test_threshold_falls_with_the_read_conductance_by_a_quarter():
    rows = []
    with runner.BenchSession.open("sim", seed=13) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        for u in STATES_U:
            model.set_state(u=u, age_s=1.0)
            g = common.read_conductance(session.bench).conductance_S
            vth = [staircase(session.bench, 10e-6)[2] for _ in range(8)]
            rows.append((u, g, float(np.mean(vth)), float(np.std(vth)) / np.sqrt(len(vth))))
    u, g, vth, err = (np.array(x) for x in zip(*rows))
    readable = np.isfinite(g)
    assert not readable[0] and readable[-1]  # full RESET is below the read's range; SET is read
    # monotonic: each readable state's threshold below the previous one's, within two standard errors
    # and half a staircase step (each threshold is known to one 20 mV step)
    order = np.argsort(g[readable])
    t, e = vth[readable][order], err[readable][order]
    assert np.all(np.diff(t) <= 2 * np.hypot(e[1:], e[:-1]) + 0.01), list(zip(g[readable][order], t))
    # and every readable state below the unreadable, more amorphous ones
    assert vth[readable].max() < vth[~readable].min()
    most_crystalline = vth[readable][np.argmax(g[readable])]
    assert (vth[0] - most_crystalline) / vth[0] >= 0.25, (vth[0], most_crystalline)
