"""An SMU sweep with failAbort (the 2450's default) stops at the first reading in compliance, and runs as
one call of the compiled stepper: the readings are the first part of the same sweep without failAbort
(bit for bit), and the cell and the clock are as if the rest of the staircase was never applied."""

import numpy as np

from sim_backend.bench import open_bench

SMU = "GPIB0::18::INSTR"
LEVELS = np.linspace(0.0, 3.0, 301)  # through the threshold switch: compliance at 20 uA after it fires


def _sweep(stop: bool):
    bench = open_bench("seed=4")
    result = bench.sweep(SMU, LEVELS, delay_s=1e-3, aperture_s=1e-3, ilimit_a=2e-5, stop_on_compliance=stop)
    return bench, result


def test_stop_on_compliance_ends_the_staircase_at_the_first_reading_in_compliance():
    full_bench, full = _sweep(False)
    bench, stopped = _sweep(True)
    first = int(np.flatnonzero(full.compliance)[0])
    assert 0 < first < LEVELS.size - 1  # the sweep reaches the limit part way
    n = stopped.current_a.size
    assert n == first + 1 and stopped.compliance[-1] and not stopped.compliance[:-1].any()
    np.testing.assert_array_equal(stopped.current_a, full.current_a[:n])
    np.testing.assert_array_equal(stopped.voltage_v, full.voltage_v[:n])
    # the cell saw only the first n steps: the clock and the state of a bench that ran just those
    prefix = open_bench("seed=4")
    prefix.sweep(SMU, LEVELS[:n], delay_s=1e-3, aperture_s=1e-3, ilimit_a=2e-5)
    assert bench.now_s == prefix.now_s < full_bench.now_s
    np.testing.assert_array_equal(bench.model.S, prefix.model.S)
    np.testing.assert_array_equal(bench.model.rng, prefix.model.rng)


def test_the_2450_fail_abort_sweep_through_scpi():
    bench = open_bench("seed=4")
    smu = bench.instruments[SMU]
    for command in (
        ":SOUR:FUNC VOLT",
        ":SOUR:VOLT:ILIM 2e-5",
        ":SENS:CURR:NPLC 0.06",
        ":SOUR:SWE:VOLT:LIN 0,3,301,1e-3",
    ):  # failAbort defaults to ON
        smu.handle(command)
    smu.handle(":INIT")
    assert smu.handle("*OPC?") == "1"
    readings = int(smu.handle(":TRAC:ACT?"))
    assert 0 < readings < 301
    again = open_bench("seed=4").instruments[SMU]
    for command in (
        ":SOUR:FUNC VOLT",
        ":SOUR:VOLT:ILIM 2e-5",
        ":SENS:CURR:NPLC 0.06",
        ":SOUR:SWE:VOLT:LIN 0,3,301,1e-3,1,BEST,OFF",
    ):
        again.handle(command)
    again.handle(":INIT")
    again.handle("*OPC?")
    assert int(again.handle(":TRAC:ACT?")) == 301
    first = f"{smu.handle(f':TRAC:DATA? 1, {readings}')}"
    assert first == again.handle(f":TRAC:DATA? 1, {readings}")
