"""The emulated models (sim_backend.scpi, disconnected: SCPI dialogue only) behind both ways in.

Unmodified PyMeasure drivers talk to each model through ``@tspcm`` and through pyvisa-py over TCP; after
every driver operation the instrument's error queue, read through the same transport, is empty, and
both ways in give the same answers.
"""

from __future__ import annotations

import itertools
import logging
import warnings

import pytest
import pyvisa
from pymeasure.instruments.agilent import Agilent33500
from pymeasure.instruments.keithley import Keithley2450, Keithley2750
from pymeasure.instruments.keysight import KeysightDSOX1102G

from sim_backend import scpi
from sim_backend.faults import set_bench_factory
from sim_backend.server import SimServer
from sim_backend.visa import close_bench

SMU, AWG, SCOPE, MATRIX = "GPIB0::18::INSTR", "GPIB0::10::INSTR", "GPIB0::7::INSTR", "GPIB0::16::INSTR"
_seeds = itertools.count(7_500_001)


class DisconnectedBench:
    """The four emulated models without physics (``build_instruments(None)``): a bench for transports."""

    def __init__(self, spec: str = ""):
        self.spec = spec
        self.instruments = scpi.build_instruments(None)

    def reset(self) -> None:
        for instrument in self.instruments.values():
            instrument.reset()


@pytest.fixture(autouse=True)
def _quiet_pymeasure():
    logger = logging.getLogger("pymeasure")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture(params=["tspcm", "tcp"])
def connect(request):
    """``connect(driver_cls, resource) -> driver`` through @tspcm or through pyvisa-py over TCP."""
    made = []
    if request.param == "tspcm":
        previous = set_bench_factory(DisconnectedBench)
        spec = f"seed={next(_seeds)}"

        def make(cls, resource):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                inst = cls(resource, visa_library=f"{spec}@tspcm")
            made.append(inst)
            return inst

        yield make
        set_bench_factory(previous)
        close_bench(spec)
    else:
        server = SimServer(DisconnectedBench(), base_port=0)
        ports = server.start()

        def make(cls, resource):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                inst = cls(
                    f"TCPIP::127.0.0.1::{ports[resource]}::SOCKET",
                    visa_library="@py",
                    read_termination="\n",
                    write_termination="\n",
                )
            made.append(inst)
            return inst

        yield make
        for inst in made:
            inst.adapter.close()
        server.stop()


def run_steps(inst, steps) -> None:
    for i, step in enumerate(steps):
        step()
        reply = inst.ask("SYST:ERR?").strip()
        assert reply.split(",")[0].lstrip("+") == "0", f"step {i} left {reply}"


def test_keithley2450_driver(connect):
    smu = connect(Keithley2450, SMU)
    run_steps(
        smu,
        [
            smu.reset,
            lambda: smu.apply_voltage(compliance_current=1e-3),
            lambda: smu.measure_current(nplc=0.1),
            lambda: setattr(smu, "source_voltage", 0.5),
            smu.enable_source,
            lambda: smu.current,
            lambda: smu.voltage,
            smu.disable_source,
        ],
    )
    assert smu.source_voltage == pytest.approx(0.5)
    assert smu.compliance_current == pytest.approx(1e-3)
    assert smu.id.split(",")[1].strip().endswith("2450")


def test_agilent33500_driver(connect):
    awg = connect(Agilent33500, AWG)
    c = awg.ch_1
    run_steps(
        awg,
        [
            lambda: setattr(c, "shape", "PULS"),
            lambda: setattr(c, "voltage_high", 1.2),
            lambda: setattr(c, "voltage_low", 0.0),
            lambda: setattr(c, "pulse_period", 10e-6),
            lambda: setattr(c, "pulse_width", 1e-6),
            lambda: setattr(c, "burst_state", True),
            lambda: setattr(c, "burst_mode", "TRIGGERED"),
            lambda: setattr(c, "burst_ncycles", 10),
            lambda: setattr(c, "output", True),
            lambda: setattr(awg, "trigger_source", "BUS"),
            awg.trigger,
            lambda: c.data_arb("spikes", [0, 1000, 32767, 0, -32767, 0, 0, 0]),
        ],
    )
    assert c.pulse_width == pytest.approx(1e-6)
    assert c.burst_ncycles == 10


def test_dsox1102g_driver_binary_waveform(connect):
    scope = connect(KeysightDSOX1102G, SCOPE)
    run_steps(
        scope,
        [
            lambda: scope.ch1.setup(coupling="dc", offset=0.0, probe_attenuation=1, scale=0.05),
            lambda: scope.timebase_setup(mode="main", horizontal_range=20e-6),
            lambda: scope.digitize("channel1"),
            lambda: setattr(scope, "waveform_format", "byte"),
        ],
    )
    data, preamble = scope.download_data("channel1", points=1000)
    assert len(data) == preamble["points"] == 1000
    assert scope.ask("SYST:ERR?").startswith("+0,")


def test_keithley2750_driver(connect):
    matrix = connect(Keithley2750, MATRIX)
    run_steps(
        matrix,
        [
            lambda: matrix.open_all(),
            lambda: matrix.close(101),
            lambda: matrix.close(148),
        ],
    )
    assert matrix.closed_channels == [101, 148]


def test_gpib_message_exchange_errors_through_tspcm():
    """@tspcm keeps GPIB's -410 (new message before the reply was read) and -420 (nothing to read)."""
    previous = set_bench_factory(DisconnectedBench)
    spec = f"seed={next(_seeds)}"
    try:
        rm = pyvisa.ResourceManager(f"{spec}@tspcm")
        smu = rm.open_resource(SMU, read_termination="\n")
        smu.write("*IDN?")
        smu.write(":SOUR:VOLT 0.1")  # the IDN reply is still unread
        with pytest.raises(pyvisa.VisaIOError):
            smu.read()  # nothing to read: the reply was discarded
        assert smu.query("SYST:ERR?").startswith("-410,")
        assert smu.query("SYST:ERR?").startswith("-420,")
        assert smu.query("SYST:ERR?").startswith("0,")
        rm.close()
    finally:
        set_bench_factory(previous)
        close_bench(spec)
