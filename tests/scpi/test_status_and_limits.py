"""Status model (*ESR?, *STB?, *OPC, SRQ bits, operation registers, the trigger model's states) and
the instruments' memory and size limits with their SCPI errors (issues 14 and 10)."""

from __future__ import annotations

import numpy as np
import pytest

from sim_backend.bench import open_bench
from sim_backend.scpi import Keithley2450, Keysight33522B

from tests.helpers.scpi import queue_empty


def _code(inst) -> int:
    return int(inst.handle("SYST:ERR?").split(",")[0])


@pytest.fixture
def bench():
    return open_bench("seed=9")


def test_opc_and_service_request_after_a_sweep_in_virtual_time(bench):
    smu = bench.instruments["GPIB0::18::INSTR"]
    smu.handle("*CLS;*ESE 1;*SRE 32")  # OPC -> ESB -> MSS
    smu.handle(":SOUR:VOLT:ILIM 1e-4;:SENS:CURR:NPLC 0.1;:SOUR:SWE:VOLT:LIN 0, 0.5, 51, 0, 1, BEST, OFF")
    t0 = bench.now_s
    smu.handle(":INIT;*OPC")
    assert bench.now_s - t0 == pytest.approx(51 * 0.1 / 60)  # the sweep's time has passed
    assert int(smu.handle("*STB?")) & (32 | 64) == 96  # ESB and MSS: a polling client sees SRQ
    assert smu.handle("*ESR?") == "1"  # OPC, cleared by the read
    assert int(smu.handle("*STB?")) & 96 == 0
    assert smu.handle("*OPC?") == "1"
    assert smu.handle(":TRAC:ACT?") == "51"


def test_operation_register_maps_trigger_model_events(bench):
    smu = bench.instruments["GPIB0::18::INSTR"]
    smu.handle(":STAT:OPER:MAP 0, 2731, 2732;:STAT:OPER:ENAB 1;*SRE 128")
    assert smu.handle(":STAT:OPER:MAP? 0") == "2731,2732"
    smu.handle(':TRIG:LOAD "SimpleLoop", 3, 0.001')
    smu.handle(":INIT")
    assert smu.handle(":STAT:OPER:COND?") == "0"  # finished: 2732 cleared the bit
    assert int(smu.handle("*STB?")) & 128  # but the event latched: OSB
    assert smu.handle(":STAT:OPER?") == "1"
    assert smu.handle(":STAT:OPER?") == "0"
    assert smu.handle(":TRAC:ACT?") == "3"
    assert queue_empty(smu)


def test_trigger_model_waits_for_bus_trigger(bench):
    smu = bench.instruments["GPIB0::18::INSTR"]
    smu.handle(":SOUR:VOLT 0.1;:SOUR:VOLT:ILIM 1e-4;:SENS:CURR:NPLC 0.1;:TRAC:CLE")
    for cmd in (
        ":TRIG:BLOC:SOUR:STAT 1, ON",
        ":TRIG:BLOC:WAIT 2, COMM",
        ':TRIG:BLOC:MEAS 3, "defbuffer1", 2',
        ":TRIG:BLOC:BRAN:COUN 4, 3, 2",
        ":TRIG:BLOC:SOUR:STAT 5, OFF",
    ):
        smu.handle(cmd)
    smu.handle(":INIT")
    assert smu.handle(":TRIG:STAT?") == "WAITING;WAITING;2"
    assert smu.handle(":OUTP?") == "1"
    smu.handle("*TRG")
    assert smu.handle(":TRAC:ACT?") == "2"
    assert smu.handle(":TRIG:STAT?").startswith("WAITING")
    smu.handle("*TRG;*TRG")
    assert smu.handle(":TRIG:STAT?") == "IDLE;IDLE;6"
    assert smu.handle(":TRAC:ACT?") == "6" and smu.handle(":OUTP?") == "0"
    smu.handle(":INIT")
    smu.handle(":ABOR")
    assert smu.handle(":TRIG:STAT?").startswith("ABORTED")
    assert queue_empty(smu)


def test_scope_single_completes_on_the_awg_burst(bench):
    awg, scope = bench.instruments["GPIB0::10::INSTR"], bench.instruments["GPIB0::7::INSTR"]
    scope.handle(":TIM:SCAL 1e-6;:TRIG:SOUR EXT;:TRIG:SWE NORM;:SING")
    assert scope.handle(":OPER:COND?") == "+8" and scope.handle(":TER?") == "+0"
    awg.handle(
        "FUNC PULS;:FUNC:PULS:PER 2e-6;:FUNC:PULS:WIDT 5e-7;:VOLT:HIGH 1;:VOLT:LOW 0;"
        ":BURS:STAT ON;:BURS:NCYC 2;:TRIG:SOUR BUS;:OUTP ON"
    )
    assert awg.handle("STAT:OPER:COND?") == "+32"  # waiting for the bus trigger
    awg.handle("*TRG")
    assert scope.handle(":TER?") == "+1" and scope.handle(":RST?") == "STOP"
    assert scope.handle(":OPER:COND?") == "+0" and scope.handle("*OPC?") == "1"
    assert queue_empty(scope) and queue_empty(awg)


@pytest.mark.parametrize(
    "command, code",
    [
        (":SOUR:SWE:VOLT:LIN 0, 1, 1000001", -222),  # points 2 to 1e6
        (":SOUR:SWE:VOLT:LIN 0, 1, 1", -222),
        (":SOUR:SWE:VOLT:LIN 0, 1, 10, 0, 268435456", -222),  # count up to 268435455
        (":SOUR:SWE:VOLT:LIN 0, 1, 10, 0, 0", -221),  # infinite: cannot finish (emulator limit)
        (":SOUR:SWE:VOLT:LIN 0, 1, 1000, 0, 1001", -223),  # 1e6 readings per :INIT (emulator limit)
        (":SOUR:SWE:VOLT:LIN 0, 1, 10, 2e-5", -222),  # delay: -1, 0 or 50 us..10 ks
        (":SOUR:LIST:VOLT " + ",".join(["0.1"] * 101), -223),  # 100 values a command
        (":TRAC:POIN 5000000", -225),  # all buffers: 4e6 readings
        (':TRAC:MAKE "big", 3950000', -225),
        (':TRAC:MAKE "1bad", 100', -224),
    ],
)
def test_2450_size_limits_and_their_errors(command, code):
    smu = Keithley2450(None)
    assert smu.handle(command) is None
    assert _code(smu) == code
    assert queue_empty(smu)


def test_2450_source_list_holds_2500_values():
    smu = Keithley2450(None)
    chunk = ",".join(["0.1"] * 100)
    smu.handle(f":SOUR:LIST:VOLT {chunk}")
    for _ in range(24):
        smu.handle(f":SOUR:LIST:VOLT:APP {chunk}")
    assert smu.handle(":SOUR:LIST:VOLT:POIN?") == "2500" and queue_empty(smu)
    smu.handle(":SOUR:LIST:VOLT:APP 0.2")
    assert _code(smu) == -225


def _dac_block(n: int) -> bytes:
    codes = (np.arange(n) % 2000 - 1000).astype(">i2").tobytes()
    head = str(len(codes))
    return f"#{len(head)}{head}".encode() + codes


def test_arb_memory_limits_free_query_and_block_errors():
    awg = Keysight33522B(None)
    assert awg.handle("SOUR1:DATA:VOL:FREE?") == "+1048576"
    awg.handle(b"SOUR1:DATA:ARB:DAC big, " + _dac_block(1_000_000))
    assert queue_empty(awg)
    assert awg.handle("SOUR1:DATA:VOL:FREE?") == f"+{1048576 - 1000064}"  # 128-point blocks
    assert awg.handle("SOUR2:DATA:VOL:FREE?") == "+1048576"  # each channel its own memory
    awg.handle(b"SOUR1:DATA:ARB:DAC more, " + _dac_block(100_000))
    assert _code(awg) == -225  # out of memory
    awg.handle(b"SOUR1:DATA:ARB:DAC huge, " + _dac_block(1_000_001))
    assert _code(awg) == -223  # too much data for one waveform
    awg.handle("SOUR1:DATA:ARB:DAC tiny, 1, 2, 3, 4, 5, 6, 7")
    assert _code(awg) == -222  # fewer than 8 points
    awg.handle(b"SOUR1:DATA:ARB:DAC odd, #17" + b"\x00" * 7)
    assert _code(awg) == -161  # not a whole number of int16 samples
    awg.handle(b"SOUR1:DATA:ARB flt, #15" + b"\x00" * 5)
    assert _code(awg) == -161  # not a whole number of float32 samples
    awg.handle(b"SOUR1:DATA:ARB:DAC short, #3100" + b"\x00" * 10)
    assert _code(awg) == -160  # the block is shorter than its header says
    assert awg.handle("SOUR1:DATA:VOL:CAT?") == '"big"'
    assert awg.handle('SOUR1:DATA:ATTR:POIN? "big"') == "+1000000"
    awg.handle("SOUR1:DATA:VOL:CLE")
    assert awg.handle("SOUR1:DATA:VOL:FREE?") == "+1048576"
    assert queue_empty(awg)
