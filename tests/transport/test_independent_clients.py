"""Clients that know nothing of this project, on the real virtual bench (issue 14, must-show 2, 4, 5).

- the manuals' example sequences, sent unmodified through pyvisa-py over TCP (``@py``) and
  in-process (``@tspcm``);
- a station-style snapshot: every readable setting of every instrument (the queries come from the
  command tables), then an empty error queue;
- a raw socket (telnet-like, no driver): malformed SCPI gets the -100-family code, no reply, and
  the session goes on;
- the service-request bits a polling client reads through VISA's ``read_stb``.
"""

from __future__ import annotations

import itertools
import re
import socket

import numpy as np
import pytest
import pyvisa

from sim_backend.scpi.table import snapshot_queries
from sim_backend.visa import discard_bench, get_host

from tests.helpers.benches import real_bench_access

SMU, AWG, SCOPE, MATRIX = "GPIB0::18::INSTR", "GPIB0::10::INSTR", "GPIB0::7::INSTR", "GPIB0::16::INSTR"
_seeds = itertools.count(7_800_001)

#: The 33500 series' burst example (SCPI reference, BURSt subsystem), verbatim.
BURST_EXAMPLE = """APPLy:SIN 1e5,3 VPP,0
BURS:MODE TRIG
BURS:NCYC 3
BURS:INT:PER 4.4e-5
BURS:PHAS 0
TRIG:SOUR IMM
BURS:STAT ON
OUTP ON"""

#: The 2450 reference manual's :TRACe:TRIGger example (6-124), verbatim.
TRACE_TRIGGER_EXAMPLE = """TRACe:MAKE "MyBuffer", 100
TRACe:TRIG "MyBuffer"
TRACe:TRIG "MyBuffer"
TRACe:TRIG "MyBuffer"
TRACe:TRIG "MyBuffer"
TRACe:TRIG "MyBuffer"
"""

#: A sweep to a buffer as the 2450 reference manual's "setting up a sweep using SCPI commands"
#: lists its steps (3-55): source function, source range, source settings, the sweep command, then
#: the trigger model, waiting, and the buffer's data.
SWEEP_TO_BUFFER = """*RST
:SOUR:FUNC VOLT
:SOUR:VOLT:RANG 2
:SOUR:VOLT:ILIM 1e-4
:SENS:FUNC "CURR"
:SENS:CURR:NPLC 0.1
:SOUR:SWE:VOLT:LIN 0, 0.5, 21, 1e-3, 1, BEST, OFF, OFF, "defbuffer1"
:INIT
*WAI"""


@pytest.fixture(params=["py", "tspcm"])
def station(request):
    """``open(resource) -> pyvisa resource`` on a fresh real bench, over TCP (@py) or @tspcm."""
    with real_bench_access(request.param, next(_seeds)) as (bench, visa_library, address):
        rm = pyvisa.ResourceManager(visa_library)
        opened = []

        def open_(resource):
            inst = rm.open_resource(address(resource), read_termination="\n", write_termination="\n", timeout=5000)
            opened.append(inst)
            return inst

        open_.bench = bench
        yield open_
        for inst in opened:
            inst.close()
        rm.close()


def _errors(inst) -> list[str]:
    out = []
    while True:
        reply = inst.query("SYST:ERR?")
        if re.match(r"^\+?0,", reply):
            return out
        out.append(reply)


def test_33500_burst_example_runs_unmodified(station):
    awg = station(AWG)
    for line in BURST_EXAMPLE.splitlines():
        awg.write(line)
    assert _errors(awg) == []
    assert awg.query("APPL?") == '"SIN +1.000000000000000E+05,+3.000000000000000E+00,+0.000000000000000E+00"'
    assert float(awg.query("BURS:NCYC?")) == 3 and awg.query("BURS:STAT?") == "1"
    assert float(awg.query("BURS:INT:PER?")) == pytest.approx(4.4e-5)
    assert awg.query("TRIG:SOUR?") == "IMM" and awg.query("OUTP?") == "1"
    # the same burst on a bus trigger plays on the bench: 3 cycles of 10 us of virtual time
    awg.write("TRIG:SOUR BUS")
    t0 = station.bench.now_s
    awg.write("*TRG")
    assert awg.query("*OPC?") == "1"
    assert station.bench.now_s - t0 == pytest.approx(3 * 1e-5)
    awg.write("BURS:NCYC INF")
    assert awg.query("BURS:NCYC?") == "+9.900000000000000E+37"
    assert _errors(awg) == []


def test_2450_trace_trigger_example_runs_unmodified(station):
    smu = station(SMU)
    for line in TRACE_TRIGGER_EXAMPLE.splitlines():
        smu.write(line)
    reply = smu.query('TRACe:DATA? 1,5, "MyBuffer", rel')
    fields = reply.split(",")
    assert len(fields) == 5 and all(re.fullmatch(r"\d+\.\d{6}", f) for f in fields)
    rel = np.array(fields, dtype=float)
    assert rel[0] == 0 and np.all(np.diff(rel) > 0)
    assert _errors(smu) == []


def test_2450_sweep_to_buffer_sequence(station):
    smu = station(SMU)
    for line in SWEEP_TO_BUFFER.splitlines():
        smu.write(line)
    assert smu.query(':TRAC:ACT? "defbuffer1"') == "21"
    values = np.array(smu.query(':TRAC:DATA? 1, 21, "defbuffer1", SOUR, READ').split(","), dtype=float).reshape(-1, 2)
    source, current = values.T
    assert source == pytest.approx(np.linspace(0, 0.5, 21), abs=1e-3)
    assert np.all(current[1:] > 0) and np.all(np.diff(current[1:]) > 0)  # a cell below threshold
    assert smu.query(":OUTP?") == "0" and smu.query(":TRIG:STAT?").startswith("IDLE")
    assert _errors(smu) == []


def test_station_snapshot_reads_every_setting_and_leaves_no_error(station):
    counts = {}
    for resource in (SMU, AWG, SCOPE, MATRIX):
        inst = station(resource)
        cls = type(station.bench.instruments[resource])
        queries = snapshot_queries(cls)
        replies = {q: inst.query(q) for q in queries}
        assert all(r != "" for r in replies.values())
        assert _errors(inst) == [], resource
        counts[resource] = len(replies)
    assert counts[MATRIX] >= 15 and min(counts[r] for r in (SMU, AWG, SCOPE)) >= 80, counts


@pytest.fixture
def raw_station():
    """A fresh real bench served on free ports, reached with plain sockets."""
    spec = f"seed={next(_seeds)}"
    host = get_host(spec)
    server = host.serve(base_port=0)
    server.start()
    yield server
    server.stop()
    discard_bench(spec)


class Telnet:
    """Lines in, lines out: what a person typing into ``telnet host 5025`` does."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("latin-1") + b"\n")

    def ask(self, line: str) -> str:
        self.send(line)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed"
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n", 1)
        return reply.decode("latin-1")

    def close(self) -> None:
        self.sock.close()


BAD_FORMS = [
    (":SOUR:VOLT:LEV", -109),  # missing parameter
    (":SOUR:VOLT 1,2", -108),  # parameter not allowed
    (":SOUR:VOLT 1 2", -103),  # invalid separator
    (":SOUR:VOLT ON", -148),  # character data not allowed
    (":SOUR:VOLT 'one'", -158),  # string data not allowed
    (":SOUR:VOLT #15hello", -168),  # block data not allowed
    (":SOUR:VOLT (1+1)", -178),  # expression data not allowed
    (":SOUR:VOLT 1.2.3", -121),  # invalid character in number
    (":SOUR:VOLT 1e999", -123),  # exponent too large
    (":SOUR:VOLT " + "9" * 300, -124),  # too many digits
    (":SOUR:VOLT 1 XYZ", -131),  # invalid suffix
    (":SOUR:VOLT 1 mOHMSPERSQUARE", -134),  # suffix too long
    (":SOUR:VOLT:LEV 1 V", None),  # a valid suffix: accepted
    (":SENS:CURR:NPLC 1 V", -138),  # suffix not allowed
    (":SOUR:FUNC 5", -128),  # numeric data not allowed
    (":SOUR:FUNC VOLTAGEVOLTAGE", -144),  # character data too long
    (":SOUR:FUNC V$LT", -141),  # invalid character data
    (':SENS:FUNC "CURR', -151),  # invalid string data
    (":SOUR:VOLTAGEVOLTAGE 1", -112),  # program mnemonic too long
    (":SOUR2:VOLT 1", -114),  # header suffix out of range
    (":SOUR:VOLT\x7f 1", -101),  # invalid character
    ("::SOUR:VOLT 1", -102),  # syntax error
    (":SOUR:VOLT,1", -103),  # invalid separator in the header
    (":SOUR:BOGUS 1", -113),  # undefined header
    ("*IDN", -113),  # a query without its '?'
    (":SOUR:VOLT 300", -222),  # data out of range
]


@pytest.mark.parametrize("form, code", BAD_FORMS, ids=[repr(f[:30]) for f, _ in BAD_FORMS])
def test_raw_socket_bad_scpi_gets_its_code_and_the_session_goes_on(raw_station, form, code):
    t = Telnet(raw_station.ports[SMU])
    try:
        before = t.ask(":SOUR:VOLT?")
        t.send(form)
        assert t.ask("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")  # no stray reply
        error = t.ask("SYST:ERR?")
        if code is None:
            assert error.startswith("0,"), error
        else:
            assert error.startswith(f"{code},"), error
            assert t.ask(":SOUR:VOLT?") == before  # nothing changed
        assert t.ask("SYST:ERR?").startswith("0,")
    finally:
        t.close()


def test_raw_socket_awg_burst_example_and_errors(raw_station):
    t = Telnet(raw_station.ports[AWG])
    try:
        for line in BURST_EXAMPLE.splitlines():
            t.send(line)
        assert t.ask("SYST:ERR?") == '+0,"No error"'
        t.send("BURS:NCYC 0")
        t.send("SOUR3:FREQ 1e3")
        t.send("VOLT:UNIT VRMS")
        assert t.ask("BURS:NCYC?") == "+3.000000000000000E+00"
        assert [t.ask("SYST:ERR?")[:4] for _ in range(4)] == ["-222", "-114", "-221", '+0,"']
    finally:
        t.close()


def test_service_request_bits_through_visa_read_stb():
    spec = f"seed={next(_seeds)}"
    rm = pyvisa.ResourceManager(f"{spec}@tspcm")
    try:
        smu = rm.open_resource(SMU, read_termination="\n", write_termination="\n")
        smu.write("*CLS;*ESE 1;*SRE 32")
        assert smu.stb & 64 == 0
        smu.write(":SOUR:SWE:VOLT:LIN 0, 0.2, 5, 0, 1, BEST, OFF;:INIT;*OPC")
        assert smu.stb & (64 | 32) == 96  # MSS and ESB: the SRQ a GPIB controller polls
        assert smu.query("*ESR?") == "1"
        assert smu.stb & 64 == 0
    finally:
        rm.close()
        discard_bench(spec)
