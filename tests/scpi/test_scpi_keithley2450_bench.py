"""Keithley 2450 on the real virtual bench: compliance, current sourcing, limit flags (issue 14).

A real 2450 in compliance is a regulated source: its reading is the limit within the data sheet's
source accuracy (0.025 % of setting + offset), and ``...:TRIPped?`` reports the limit only while
the output is at it. Sourcing exactly 0 A is never limited, so a current sweep from 0 A runs to its
last point.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim_backend.bench import open_bench


@pytest.fixture
def smu():
    bench = open_bench("seed=5;pcm.u_initial=0")  # a SET cell
    return bench.instruments["GPIB0::18::INSTR"]


def _values(reply: str, width: int) -> np.ndarray:
    return np.array(reply.split(","), dtype=float).reshape(-1, width)


def _empty(smu) -> bool:
    return smu.handle("SYST:ERR?").startswith("0,")


def test_readings_in_compliance_are_the_limit_within_source_accuracy(smu):
    limit = 10e-6
    smu.handle(f":SOUR:FUNC VOLT;:SOUR:VOLT:ILIM {limit};:SOUR:VOLT 3;:SENS:CURR:NPLC 0.1;:OUTP ON")
    data = _values(",".join(smu.handle(':READ? "defbuffer1", READ, SOUR, SOURSTAT') for _ in range(40)), 3)
    current, volts, sstat = data.T
    assert np.all(np.abs(current / limit - 1) < 5e-4)  # 0.05 %: the data sheet's accuracy
    assert np.std(current) / limit < 1e-4  # regulated, not the device model's scatter
    assert np.all(volts < 3.0)  # the source folded back to hold the current
    assert np.all(sstat.astype(int) & 32)  # STAT_LIMIT on every reading
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "1"
    assert _empty(smu)


def test_trip_flag_only_while_limiting(smu):
    smu.handle(":SOUR:FUNC VOLT;:SOUR:VOLT:ILIM 10e-6;:SENS:CURR:NPLC 0.1")
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "0"  # output off
    smu.handle(":SOUR:VOLT 3;:OUTP ON;:READ?")
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "1"
    smu.handle(":SOUR:VOLT 0")  # nothing can draw 10 uA at 0 V: no reading taken since
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "0"
    smu.handle(":SOUR:VOLT 3")
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "1"
    smu.handle(":OUTP OFF")
    assert smu.handle(":SOUR:VOLT:ILIM:TRIP?") == "0"
    assert smu.handle(":SOUR:CURR:VLIM:TRIP?") == "0"  # the other function's flag
    assert _empty(smu)


def test_zero_amps_is_not_limited_and_current_sweep_runs_to_its_last_point(smu):
    smu.handle(":SOUR:FUNC CURR;:SOUR:CURR:VLIM 2;:SOUR:CURR 0;:SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 0.1;:OUTP ON")
    volts, amps = _values(smu.handle(':READ? "defbuffer1", READ, SOUR'), 2)[0]
    assert smu.handle(":SOUR:CURR:VLIM:TRIP?") == "0"
    assert abs(volts) < 1e-3 and amps == 0.0
    smu.handle(":OUTP OFF")
    # failAbort ON (the default): a sweep stops at its first limited point - from 0 A it must not (the
    # fixture's cell is crystalline and takes 1 uA well under 2 V; a RESET cell's switch would need more)
    smu.handle(':SOUR:SWE:CURR:LIN 0, 1e-6, 10, 0.001, 1, AUTO, ON, OFF, "defbuffer1"')
    smu.handle(":INIT;*WAI")
    assert smu.handle(":TRAC:ACT?") == "10"
    volts, amps, sstat = _values(smu.handle(':TRAC:DATA? 1, 10, "defbuffer1", READ, SOUR, SOURSTAT'), 3).T
    assert amps == pytest.approx(np.linspace(0, 1e-6, 10), rel=5e-4, abs=1e-12)
    assert not np.any(sstat.astype(int) & 32)  # never at the 2 V limit
    assert volts[0] == pytest.approx(0, abs=1e-3) and 0 < volts[1:].min() and volts.max() < 2.0
    assert smu.handle(":TRIG:STAT?").startswith("IDLE")
    assert smu.handle(":OUTP?") == "0"  # the sweep model ends with the output off
    assert _empty(smu)


def test_current_source_at_its_voltage_limit(smu):
    smu.handle(":SOUR:FUNC CURR;:SOUR:CURR:VLIM 2;:SOUR:CURR 1e-3;:SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 0.1;:OUTP ON")
    smu.handle(":READ?")  # settles
    volts, amps, sstat = _values(smu.handle(':READ? "defbuffer1", READ, SOUR, SOURSTAT'), 3)[0]
    assert volts == pytest.approx(2.0, rel=5e-4)  # held at the voltage limit
    assert amps < 1e-3  # the load cannot take 1 mA at 2 V
    assert int(sstat) & 32 and smu.handle(":SOUR:CURR:VLIM:TRIP?") == "1"
    smu.handle(":SOUR:CURR 1e-7")
    assert smu.handle(":SOUR:CURR:VLIM:TRIP?") == "0"
    volts, amps = _values(smu.handle(':READ? "defbuffer1", READ, SOUR'), 2)[0]
    assert amps == pytest.approx(1e-7, rel=5e-4) and volts < 2.0
    assert _empty(smu)


def test_overvoltage_protection_clamps_the_output(smu):
    smu.handle(":SOUR:FUNC VOLT;:SOUR:VOLT:PROT PROT2;:SOUR:VOLT:ILIM 1e-3;:SOUR:VOLT 5;:SENS:FUNC 'VOLT';:OUTP ON")
    assert float(smu.handle(":READ?")) <= 2.0 + 1e-9
    assert smu.handle(":SOUR:VOLT:PROT:TRIP?") == "1"
    assert smu.handle(":SOUR:VOLT?") == "5.000000E+00"  # the programmed level is kept
    smu.handle(":SOUR:VOLT:PROT NONE")
    assert smu.handle(":SOUR:VOLT:PROT:TRIP?") == "0"
    assert _empty(smu)


def test_binary_readings_come_little_endian_after_a_reset(smu):
    """The 2450's byte order after *RST is SWAPped (little-endian, as a PC reads it): a script written for the
    instrument that decodes :FORM:DATA REAL blocks little-endian reads the ASCII reading's value (an outside try
    read 1.47e+32 for 2.17e-11 when the emulation said NORMal)."""
    import struct

    smu.handle("*RST")
    assert smu.handle(":FORM:BORD?") == "SWAP"
    smu.handle(":SOUR:FUNC VOLT;:SOUR:VOLT:ILIM 1e-3;:SOUR:VOLT 0.1;:SENS:CURR:NPLC 0.01;:OUTP ON")
    text = float(smu.handle(":READ?"))
    smu.handle(":FORM:DATA REAL")
    block = smu.handle(":FETCh?")
    assert isinstance(block, bytes) and block[:3] == b"#18"
    assert struct.unpack("<d", block[3:11])[0] == pytest.approx(text, rel=1e-6)  # ASCII keeps 7 digits
    smu.handle(":FORM:BORD NORM")
    assert struct.unpack(">d", smu.handle(":FETCh?")[3:11])[0] == pytest.approx(text, rel=1e-6)
    assert _empty(smu)
