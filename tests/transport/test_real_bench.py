"""Both ways in with the real virtual bench (sim_backend.bench + the emulated models + the device model)."""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import pyvisa
from pymeasure.instruments.keithley import Keithley2450
from pyvisa.constants import StatusCode

import pyvisa_tspcm
from sim_backend.bench import open_bench
from sim_backend.server import SimServer
from sim_backend.visa import close_bench

SMU, AWG, SCOPE, MATRIX = "GPIB0::18::INSTR", "GPIB0::10::INSTR", "GPIB0::7::INSTR", "GPIB0::16::INSTR"
_seeds = itertools.count(7_700_001)

SIM_CLI = (
    "import sys; from tspcm_lab import cli; cli.COMMANDS = {'sim': 'tspcm_lab.commands.sim'}; "
    "sys.exit(cli.main(sys.argv[1:]))"
)


@pytest.fixture(autouse=True)
def _quiet_pymeasure():
    logger = logging.getLogger("pymeasure")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def real_spec():
    """``make(extra="") -> spec`` of a fresh real bench behind ``"<spec>@tspcm"``, discarded afterwards."""
    made: list[str] = []

    def make(extra: str = "", seed: int | None = None) -> str:
        spec = f"seed={seed if seed is not None else next(_seeds)}" + (f";{extra}" if extra else "")
        made.append(spec)
        return spec

    yield make
    for spec in made:
        close_bench(spec)


def read_current(smu: Keithley2450) -> float:
    """A fixed driver dialogue: 0.2 V with 1 mA compliance, one current reading."""
    smu.reset()
    smu.apply_voltage(compliance_current=1e-3)
    smu.measure_current(nplc=0.1)
    smu.source_voltage = 0.2
    smu.enable_source()
    current = smu.current
    smu.disable_source()
    return current


def test_real_bench_resources_and_identities(real_spec):
    rm = pyvisa.ResourceManager(f"{real_spec()}@tspcm")
    assert rm.list_resources() == (SMU, AWG, SCOPE, MATRIX)
    idn = {name: rm.open_resource(name, read_termination="\n").query("*IDN?") for name in rm.list_resources()}
    assert "2450" in idn[SMU] and "33522B" in idn[AWG] and "DSO-X 1102G" in idn[SCOPE] and "2750" in idn[MATRIX]


def test_same_seed_same_reading_through_tspcm_and_tcp(real_spec):
    spec = real_spec()
    local = Keithley2450(SMU, visa_library=f"{spec}@tspcm")
    in_process = read_current(local)
    with SimServer(open_bench(spec), base_port=0) as server:
        remote = Keithley2450(
            server.resource_string(SMU), visa_library="@py", read_termination="\n", write_termination="\n"
        )
        over_tcp = read_current(remote)
        remote.adapter.close()
    assert over_tcp == in_process != 0
    assert local.ask("SYST:ERR?").startswith("0,")


def test_reset_restores_the_fresh_bench(real_spec):
    spec = real_spec()
    bench = pyvisa_tspcm.get_bench(spec)
    fresh_s = bench.now_s
    smu = Keithley2450(SMU, visa_library=f"{spec}@tspcm")
    first = read_current(smu)
    assert bench.now_s > fresh_s
    smu.source_voltage = 0.7
    pyvisa_tspcm.reset_bench(spec)
    assert bench.now_s == fresh_s
    assert smu.source_voltage == 0
    assert read_current(smu) == first  # same seed, same start: the same reading again


def test_other_library_path_is_another_bench(real_spec):
    a, b = real_spec(), real_spec()
    smu_a = Keithley2450(SMU, visa_library=f"{a}@tspcm")
    smu_b = Keithley2450(SMU, visa_library=f"{b}@tspcm")
    smu_a.source_voltage = 0.3
    assert smu_b.source_voltage == 0
    assert pyvisa_tspcm.get_bench(a) is not pyvisa_tspcm.get_bench(b)


def test_fault_option_in_the_library_path_of_the_real_bench(real_spec):
    rm = pyvisa.ResourceManager(f"{real_spec('fault=smu:drop=2')}@tspcm")
    smu = rm.open_resource(SMU, read_termination="\n")
    assert "2450" in smu.query("*IDN?")
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("*IDN?")
    assert info.value.error_code == StatusCode.error_connection_lost


@pytest.mark.slow
def test_tspcm_sim_serve_real_bench_subprocess():
    proc = subprocess.Popen(
        [sys.executable, "-c", SIM_CLI, "sim", "serve", "--port", "0", "--bench", "seed=5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.strip() == "ready":
                break
            lines.append(line)
        found = re.findall(r"(GPIB0::\d+::INSTR)\s+(TCPIP::127\.0\.0\.1::\d+::SOCKET)\s+(.+)", "".join(lines))
        assert [name for name, _, _ in found] == [SMU, AWG, SCOPE, MATRIX], lines
        rm = pyvisa.ResourceManager("@py")
        expected = {SMU: "2450", AWG: "33522B", SCOPE: "1102G", MATRIX: "2750"}
        for name, resource, model in found:
            assert expected[name] in model
            inst = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
            assert expected[name] in inst.query("*IDN?")
            inst.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
