"""Another framework's own drivers as independent clients: QCoDeS's Keithley 2450 and Keysight
33522B, over TCP (pyvisa-py) and in-process (@tspcm), the way a new user would try them (issue 14).

Each feature is a short sequence of the driver's own calls; it works when it raises nothing and the
instrument's error queue stays empty. QCoDeS is a test extra (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import itertools
import logging
import re

import numpy as np
import pytest
from qcodes.instrument_drivers.Keithley import Keithley2450
from qcodes.instrument_drivers.Keysight import Keysight33522B

from tests.helpers.benches import real_bench_access

SMU, AWG = "GPIB0::18::INSTR", "GPIB0::10::INSTR"
_seeds = itertools.count(7_900_001)
_names = itertools.count(1)


@pytest.fixture(params=["py", "tspcm"])
def drivers(request):
    logging.getLogger("qcodes").setLevel(logging.CRITICAL)
    with real_bench_access(request.param, next(_seeds)) as (bench, visa_library, address):
        bench.model.set_state(u=0.0)  # a SET cell: a current sweep from 0 A stays under its voltage limit
        n = next(_names)
        smu = Keithley2450(f"smu{n}", address(SMU), visalib=visa_library, terminator="\n")
        awg = Keysight33522B(f"awg{n}", address(AWG), visalib=visa_library, terminator="\n")
        yield smu, awg
        smu.close()
        awg.close()


def _errors(inst) -> list[str]:
    out = []
    while True:
        reply = inst.ask("SYST:ERR?")
        if re.match(r"^\+?0,", reply):
            return out
        out.append(reply)


def _round_trip(inst) -> None:
    """Every gettable parameter read, and written back where settable (what a snapshot-and-restore
    tool does); the driver's measurement/sweep parameters need a set-up and are left out."""
    # measurement/sweep parameters need a set-up; `terminals` validates lower-case words but
    # reads back the instrument's upper-case reply, so the driver cannot write back what it reads
    skip = {"current", "voltage", "resistance", "sweep", "sweep_axis", "user_delay", "terminals"}
    for name, param in inst.parameters.items():
        if name in skip or not param.gettable:
            continue
        value = param.get()
        if param.settable and value is not None:
            try:
                param.set(value)
            except TypeError:  # some parameters have no get_parser: the reply comes back a str
                param.set(float(value))
    for sub in inst.submodules.values():
        if hasattr(sub, "parameters"):
            _round_trip(sub)


def _buffer_with_formatted_elements(smu):
    with smu.buffer("userbuff1", 100) as buf:  # sends :TRACe:MAKE 'userbuff1', 100, (empty style)
        smu.output_enabled(True)
        buf.trigger_start()
        buf.elements(["time", "measurement_formatted", "source_value_formatted"])
        time, reading, source = smu.ask(":TRACe:DATA? 1, 1, 'userbuff1', TIME, FORM, SOURFORM").split(",")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d+", time), time
        assert re.fullmatch(r"[+-]\d+\.\d+ [munpf]?A", reading), reading
        assert re.fullmatch(r"[+-]\d+\.\d+ [munpf]?V", source), source
        assert buf.number_of_readings() == 1
        smu.output_enabled(False)


def _current_sweep_from_zero(smu):
    smu.source_function("current")
    smu.source.limit(2)
    smu.source.sweep_setup(0, 1e-6, 10, delay=0)
    smu.sense_function("voltage")
    volts = np.asarray(smu.sense.sweep())
    # the cell's switch snaps back once the current source fires it; on the on branch the voltage rises
    on = int(np.argmax(np.diff(volts) < 0)) + 1
    assert volts.size == 10 and volts.max() < 2.0 and np.all(np.diff(volts[on:]) > 0)
    assert smu.source.limit_tripped() == 0


def _user_delays(smu):
    smu.source.user_number(1)
    smu.source.user_delay(0.01)
    assert smu.source.user_delay() == pytest.approx(0.01)
    smu.sense.user_number(2)
    smu.sense.user_delay(0.02)
    assert float(smu.sense.user_delay()) == pytest.approx(0.02)


def _burst_infinite(ch):
    ch.burst_ncycles("INF")
    assert float(ch.burst_ncycles()) in (float("inf"), 9.9e37)  # the driver maps 9.9E+37 to inf
    ch.burst_ncycles(3)


@pytest.mark.slow
def test_qcodes_drivers_everyday_features(drivers):
    smu, awg = drivers
    features = {
        "2450 identity": lambda: smu.IDN(),
        "2450 source voltage with limit": lambda: (
            smu.source_function("voltage"),
            smu.source.limit(1e-4),
            smu.source.voltage(0.5),
        ),
        "2450 sense current range/NPLC/autorange": lambda: (
            smu.sense_function("current"),
            smu.sense.nplc(0.1),
            smu.sense.range(1e-4),
            smu.sense.auto_range(True),
        ),
        "2450 source and sense user delays": lambda: _user_delays(smu),
        "2450 autozero once": lambda: smu.sense.auto_zero_once(),
        "2450 output on, measure, off": lambda: (
            smu.output_enabled(True),
            smu.sense.current(),
            smu.output_enabled(False),
        ),
        "2450 user buffer, formatted elements": lambda: _buffer_with_formatted_elements(smu),
        "2450 current sweep from 0 A to its last point": lambda: _current_sweep_from_zero(smu),
        "2450 terminals and line frequency": lambda: (smu.terminals("front"), smu.line_frequency()),
        "2450 every parameter read and written back": lambda: _round_trip(smu),
        "33522B every parameter read and written back": lambda: _round_trip(awg),
    }
    for ch in (awg.ch1, awg.ch2):
        n = ch.short_name
        features.update(
            {
                f"33522B {n} frequency mode": lambda ch=ch: (ch.frequency_mode("CW"), ch.frequency_mode()),
                f"33522B {n} burst NCYC INFinity": lambda ch=ch: _burst_infinite(ch),
                f"33522B {n} burst gate polarity, mode, phase, period": lambda ch=ch: (
                    ch.burst_polarity("INV"),
                    ch.burst_polarity(),
                    ch.burst_mode("N Cycle"),
                    ch.burst_phase(10),
                    ch.burst_int_period(1e-3),
                ),
                f"33522B {n} trigger count, delay, slope, source, timer": lambda ch=ch: (
                    ch.trigger_count(5),
                    ch.trigger_count(),
                    ch.trigger_delay(1e-6),
                    ch.trigger_slope("NEG"),
                    ch.trigger_source("BUS"),
                    ch.trigger_timer(1e-3),
                ),
                f"33522B {n} waveform": lambda ch=ch: (
                    ch.function_type("SQU"),
                    ch.frequency(1e3),
                    ch.amplitude(0.5),
                    ch.offset(0.1),
                ),
            }
        )
    features["33522B sync output"] = lambda: (awg.sync.output("ON"), awg.sync.source(1))
    features["33522B force trigger, phase sync"] = lambda: (awg.force_trigger(), awg.sync_channel_phases())
    failed = {}
    for name, run in features.items():
        inst = smu if name.startswith("2450") else awg
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - a failing feature is the finding
            failed[name] = repr(exc)[:200]
        errors = _errors(inst)
        if errors:
            failed[name] = failed.get(name, "") + f" errors: {errors}"
    print(f"QCoDeS drivers: {len(features) - len(failed)} of {len(features)} features worked")
    assert failed == {}
