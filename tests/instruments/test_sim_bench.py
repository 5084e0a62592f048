"""The roles on the simulated bench ("must show" 2-4 of the instruments issue).

- the same role-level script runs unchanged through ``@tspcm`` and through the TCP server with
  pyvisa-py, with identical results and empty error queues;
- safety on the simulated bench: enabling without compliance is refused, a voltage above the bench
  limit is refused before anything is sent, an exception mid-script and a dropped connection leave
  every reachable output off (verified by querying each virtual instrument on a fresh session);
- ``tspcm bench check --sim`` prints every identity and exits 0; a wrong resource or a missing role
  gives one clear line per instrument and a non-zero exit.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import pyvisa
from pyvisa.errors import VisaIOError

from instruments.drivers.keithley2750 import parse_channel_list
from instruments.safety import SafetyError
from sim_backend.bench import open_bench
from sim_backend.faults import DropConnection
from sim_backend.server import ServerThread, SimServer
from sim_backend.visa import close_bench, get_faults
from tspcm_lab.bench import BUILTIN_DIR, Bench, load_bench_config

from tests.helpers.bench_cli import run_bench_cli

RESOURCES = {
    "smu": "GPIB0::18::INSTR",
    "pulse": "GPIB0::10::INSTR",
    "scope": "GPIB0::7::INSTR",
    "matrix": "GPIB0::16::INSTR",
}
#: the query that tells whether each virtual instrument's output is on
OUTPUT_QUERY = {"smu": ":OUTP?", "pulse": "OUTP1?"}

_seeds = itertools.count(4_100_001)


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture
def tspcm_spec():
    """A fresh, isolated simulated bench behind ``"<spec>@tspcm"``; discarded afterwards."""
    specs = []

    def make(seed: int | None = None) -> str:
        spec = f"seed={seed if seed is not None else next(_seeds)}"
        specs.append(spec)
        return spec

    yield make
    for spec in specs:
        close_bench(spec)


def sim_config(spec: str):
    return load_bench_config("sim").with_visa_library(f"{spec}@tspcm")


@pytest.fixture
def tcp_bench():
    """``make(spec) -> (config, server)``: a simulated bench served on free loopback ports."""
    running = []

    def make(spec: str):
        server = SimServer(open_bench(spec), base_port=0)
        thread = ServerThread(server).start()
        running.append(thread)
        config = load_bench_config("sim-tcp").with_resources(
            {role: f"TCPIP::127.0.0.1::{thread.ports[resource]}::SOCKET" for role, resource in RESOURCES.items()}
        )
        return config, server

    yield make
    for thread in running:
        thread.stop()


def query_fresh(visa_library: str, resource: str, message: str, **kwargs) -> str:
    """Ask a virtual instrument on a new session (not the bench's own connections)."""
    # (ResourceManager objects are shared per library: close the session, never the manager)
    inst = pyvisa.ResourceManager(visa_library).open_resource(
        resource, read_termination="\n", write_termination="\n", timeout=2000, **kwargs
    )
    try:
        return inst.query(message).strip()
    finally:
        inst.close()


# ---------------------------------------------------------------------------------- the script
def role_script(bench: Bench) -> dict:
    """What a procedure does, in roles only: connect the cell, I-V sweep, spike train + capture."""
    bench.matrix.connect([(0, 0)])
    bench.smu.configure_voltage_source(compliance_a=100e-6, nplc=0.1)
    iv = bench.smu.sweep_voltage_linear(0.0, 2.0, 41)
    bench.pulse.configure_pulse_train(2.5, 2e-6, period_s=10e-6, count=5, edge_s=20e-9)
    bench.scope.arm(60e-6, 20e-9, trigger_level_v=1.0, pretrigger_s=5e-6, full_scale_current_a=1e-3)
    bench.pulse.output_on()
    bench.pulse.trigger()
    capture = bench.scope.fetch()
    bench.pulse.output_off()
    bench.smu.set_voltage(0.2)
    bench.smu.output_on()
    read_current_a = bench.smu.measure_current()
    bench.smu.output_off()
    errors = {name: role.error_queue() for name, role in bench.roles.items()}
    return {
        "iv_v": iv.source_v,
        "iv_a": iv.current_a,
        "t_s": capture.t_s,
        "i_a": capture.current_a,
        "read_a": read_current_a,
        "errors": errors,
        "snapshot": bench.snapshot(),
    }


def check_script_result(result: dict) -> None:
    assert all(not errors for errors in result["errors"].values()), result["errors"]
    iv_v, iv_a = result["iv_v"], result["iv_a"]
    programmed = np.linspace(0, 2, 41)
    free = np.abs(iv_a) < 0.9 * 100e-6  # off compliance the source value is the programmed one
    assert free[:10].all()
    np.testing.assert_allclose(iv_v[free], programmed[free], atol=1e-3)
    assert np.all(iv_v <= programmed + 1e-3)  # in compliance the 2450 reads back a lower voltage
    below = np.abs(iv_a[iv_v <= 0.5]).max()
    assert np.abs(iv_a).max() > 20 * below, "no threshold jump in the I-V sweep"
    current = result["i_a"]
    high = current > current.max() / 2
    assert int(np.count_nonzero(np.diff(high.astype(int)) == 1)) == 5, "expected 5 current spikes"


def test_a_single_capture_stays_armed_until_its_trigger_comes():
    """The emulated DSOX keeps a :SINGle armed (":OPER:COND?" bit 3) until a trigger comes, also after
    RUN mode (a capture left pending from RUN, not consumed by :STOP, once completed the next :SINGle at
    once). Over TCP the scope is polled from another connection than the AWG's *TRG, so it may be asked
    before the burst: the role can only know when to fire the pulse if the scope says it is armed."""
    scope = open_bench("seed=1").instruments[RESOURCES["scope"]]
    for message in (":RUN", ":STOP", ":TRIG:EDGE:SOUR EXT", ":TRIG:SWE NORM", ":SING"):
        scope.handle(message)
    assert scope.handle(":OPER:COND?").strip() == "+8"


def test_role_script_through_tspcm(tspcm_spec):
    with Bench.open(sim_config(tspcm_spec())) as bench:
        check_script_result(role_script(bench))


def test_scope_record_reads_the_same_in_words_bytes_and_ascii(tspcm_spec, tcp_bench):
    """The role reads binary WORD blocks (through PyMeasure, PyVISA and the virtual scope's SCPI); the
    same record as ASCII text gives the same volts to its 7 printed digits, as BYTE to half a byte code."""
    spec = tspcm_spec()
    config, _server = tcp_bench(spec)
    for cfg in (sim_config(spec), config):
        with Bench.open(cfg) as bench:
            result = role_script(bench)
            driver = bench.scope.driver
            t_w, v_w, pre_w = driver.read_waveform_volts("channel1", result["t_s"].size)
            t_a, v_a, _ = driver.read_waveform_volts("channel1", result["t_s"].size, fmt="ascii")
            t_b, v_b, pre_b = driver.read_waveform_volts("channel1", result["t_s"].size, fmt="byte")
        assert pre_w["format"] == "WORD" and pre_b["format"] == "BYTE"
        np.testing.assert_array_equal(v_w / 50.0, result["i_a"])  # what the role returned
        np.testing.assert_array_equal(t_w, t_a)
        np.testing.assert_allclose(v_a, v_w, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(v_b, v_w, rtol=0, atol=pre_b["yincrement"] / 2 + pre_w["yincrement"])
        assert np.ptp(v_w) > 100 * pre_w["yincrement"]  # a record with spikes, not a flat line


def test_same_role_script_through_tspcm_and_tcp(tspcm_spec, tcp_bench):
    spec = tspcm_spec(seed=4_099_001)
    with Bench.open(sim_config(spec)) as bench:
        in_process = role_script(bench)
    config, _server = tcp_bench(spec)
    with Bench.open(config) as bench:
        over_tcp = role_script(bench)
    check_script_result(in_process)
    check_script_result(over_tcp)
    # the same physics and virtual times; the emulated instruments' own regulation noise may be drawn a
    # different number of times (a TCP session sets the SMU's limit in more steps), hence 1e-3
    for key in ("iv_v", "t_s"):
        np.testing.assert_array_equal(in_process[key], over_tcp[key])
    for key in ("iv_a", "i_a"):
        np.testing.assert_allclose(in_process[key], over_tcp[key], rtol=1e-3, atol=1e-12)
    assert in_process["read_a"] == pytest.approx(over_tcp["read_a"], rel=1e-3)
    identities = {name: snap["identity"] for name, snap in in_process["snapshot"]["roles"].items()}
    assert identities == {name: snap["identity"] for name, snap in over_tcp["snapshot"]["roles"].items()}


# ---------------------------------------------------------------------------------- safety
def test_output_without_compliance_is_refused_on_the_bench(tspcm_spec):
    spec = tspcm_spec()
    with Bench.open(sim_config(spec)) as bench:
        with pytest.raises(SafetyError, match="no compliance set"):
            bench.smu.output_on()
        with pytest.raises(SafetyError, match="no waveform configured"):
            bench.pulse.output_on()
        assert query_fresh(f"{spec}@tspcm", RESOURCES["smu"], ":OUTP?") == "0"
        assert query_fresh(f"{spec}@tspcm", RESOURCES["pulse"], "OUTP1?") == "0"


def test_voltage_above_limit_is_refused_before_anything_is_sent(tspcm_spec):
    spec = tspcm_spec()
    with Bench.open(sim_config(spec)) as bench:
        bench.smu.configure_voltage_source(compliance_a=1e-4)
        faults = get_faults(spec)
        # any command reaching the SMU or the AWG from now on would drop its link
        smu = faults.add("smu", DropConnection(at=1))
        awg = faults.add("awg", DropConnection(at=1))
        with pytest.raises(SafetyError, match="exceeds the bench limit of 5 V"):
            bench.smu.set_voltage(6.0)
        with pytest.raises(SafetyError, match="sweep point 29 5.075 V exceeds"):
            bench.smu.sweep_voltage_linear(0, 7, 41)
        with pytest.raises(SafetyError, match="pulse amplitude 5.5 V exceeds"):
            bench.pulse.configure_pulse_train(5.5, 1e-6, period_s=1e-5)
        with pytest.raises(SafetyError, match="spike-train sample"):
            bench.pulse.configure_spike_train([0, 0, 6, 0, 0, 0, 0, 0], 1e-6)
        assert not faults.is_dropped(smu) and not faults.is_dropped(awg), "a refused request sent something"
        faults.clear()


def _drive_outputs_on(bench: Bench) -> None:
    bench.matrix.connect([(0, 0)])
    bench.smu.configure_voltage_source(compliance_a=1e-4)
    bench.smu.set_voltage(0.3)
    bench.smu.output_on()
    bench.pulse.configure_pulse_train(1.0, 1e-6, period_s=1e-5, count=3)
    bench.pulse.output_on()


def test_exception_mid_script_leaves_every_output_off(tspcm_spec):
    spec = tspcm_spec()
    library = f"{spec}@tspcm"
    with pytest.raises(RuntimeError, match="mid-script"):
        with Bench.open(sim_config(spec)) as bench:
            _drive_outputs_on(bench)
            assert query_fresh(library, RESOURCES["smu"], ":OUTP?") == "1"  # really on before
            assert query_fresh(library, RESOURCES["pulse"], "OUTP1?") == "1"
            raise RuntimeError("mid-script failure")
    assert query_fresh(library, RESOURCES["smu"], ":OUTP?") == "0"
    assert query_fresh(library, RESOURCES["pulse"], "OUTP1?") == "0"
    assert parse_channel_list(query_fresh(library, RESOURCES["matrix"], ":ROUT:MULT:CLOS?")) == []


@pytest.mark.parametrize("lost", ["smu", "pulse"])
def test_dropped_connection_leaves_every_reachable_output_off(tspcm_spec, lost):
    spec = tspcm_spec()
    library = f"{spec}@tspcm"
    alias = {"smu": "smu", "pulse": "awg"}[lost]
    with pytest.raises(VisaIOError) as info:
        with Bench.open(sim_config(spec)) as bench:
            _drive_outputs_on(bench)
            get_faults(spec).add(alias, DropConnection(at=1))  # the link to one instrument is gone
            if lost == "smu":
                bench.smu.measure_current()
            else:
                bench.pulse.trigger()
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert f"{lost} ({RESOURCES[lost]})" in notes  # the unreachable one is reported, not hidden
    for role, query in OUTPUT_QUERY.items():
        if role != lost:
            assert query_fresh(library, RESOURCES[role], query) == "0", f"{role} left on"
    assert parse_channel_list(query_fresh(library, RESOURCES["matrix"], ":ROUT:MULT:CLOS?")) == []
    with pytest.raises(VisaIOError):
        query_fresh(library, RESOURCES[lost], "*IDN?")  # it really was unreachable


# ---------------------------------------------------------------------------------- bench check
def test_bench_check_sim_prints_every_identity_and_exits_0(capsys):
    assert run_bench_cli(["bench", "check", "--sim"]) == 0
    out = capsys.readouterr().out
    for pattern in ("2450", "3352", "1102G", "2750"):
        assert pattern in out
    assert "PROBLEM" not in out and out.rstrip().endswith("result: OK, no output was touched")


def test_bench_check_wrong_resource_and_missing_role(tmp_path, capsys, tspcm_spec):
    spec = tspcm_spec()
    text = (BUILTIN_DIR / "sim.toml").read_text()
    text = text.replace('visa_library = "@tspcm"', f'visa_library = "{spec}@tspcm"')
    text = text.replace('resource = "GPIB0::18::INSTR"', 'resource = "GPIB0::19::INSTR"')
    text = text.split("[scope]")[0] + "[matrix]" + text.split("[matrix]")[1]  # no scope
    path = tmp_path / "broken.toml"
    path.write_text(text)
    assert run_bench_cli(["bench", "check", str(path)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    first = {}
    for line in lines:
        first.setdefault(line.split()[0], line)
    assert "PROBLEM" in first["smu"] and "GPIB0::19::INSTR" in first["smu"]
    assert "OK" in first["pulse"] and "OK" in first["matrix"]
    assert "PROBLEM  missing: required, but the bench has no [scope] table" in first["scope"]


def test_open_refuses_an_instrument_of_another_model(tspcm_spec):
    from tspcm_lab.bench import BenchOpenError

    spec = tspcm_spec()
    config = sim_config(spec).with_resources({"smu": RESOURCES["pulse"]})  # a 33522B where the 2450 should be
    with pytest.raises(BenchOpenError, match="which is not a Keithley 2450") as info:
        Bench.open(config)
    assert list(info.value.problems) == ["smu"]


def test_open_starts_from_outputs_off(tspcm_spec):
    spec = tspcm_spec()
    library = f"{spec}@tspcm"
    inst = pyvisa.ResourceManager(library).open_resource(
        RESOURCES["smu"], read_termination="\n", write_termination="\n"
    )
    inst.write(":SOUR:VOLT:ILIM 1e-4")
    inst.write(":OUTP ON")  # left on by an earlier session
    assert inst.query(":OUTP?").strip() == "1"
    inst.close()
    with Bench.open(sim_config(spec)) as bench:
        assert query_fresh(library, RESOURCES["smu"], ":OUTP?") == "0"
        assert bench.outputs_on() == []


# ---------------------------------------------------------------------------------- repeated configurations
def _read_and_fire(bench) -> list:
    """Reads and amplitude-stepped trains, as a calibration does: every number they return."""
    from dataclasses import astuple

    from procedures.library.read import read_conductance
    from procedures.library.spikes import SpikeTrain, fire_train

    out: list = []
    for amplitude in (1.6, 1.65, 1.65, 1.7):
        out.append(astuple(read_conductance(bench)))
        response = fire_train(bench, SpikeTrain(amplitude_V=amplitude, width_s=200e-9, period_s=2e-6, count=5))
        out.append((response.t_s.tolist(), response.current_A.tolist(), response.events_per_spike.tolist()))
    return out


def test_repeated_configurations_sent_in_part_leave_the_bench_as_sent_in_full(tspcm_spec, monkeypatch):
    """The roles send only what changed when a configuration repeats the last one (the SMU's compliance
    between a read's firing and its sweep, its source range and compliance after a sweep, the generator's
    levels on the same timing when they change, the scope's :SINGle for the same record (no :stop after a
    fetched capture) and no transfer settings for its fetch): the same readings, captures, cell states and virtual time as with every
    configuration sent in full, in fewer commands."""
    from instruments.base import RoleBase
    from sim_backend.visa import get_host

    spec = tspcm_spec(seed=4_199_001)

    def run() -> tuple[list, np.ndarray, float, int]:
        with Bench.open(sim_config(spec)) as bench:
            out = _read_and_fire(bench)
            host = get_host(spec)
            model = host.bench.model
            state = (out, model.S.copy(), model.t_s, sum(i.n_messages for i in host.instruments.values()))
        close_bench(spec)  # the next open builds a new bench with the same seed
        return state

    out_part, s_part, t_part, n_part = run()
    monkeypatch.setattr(RoleBase, "_programmed", property(lambda self: None, lambda self, value: None))
    out_full, s_full, t_full, n_full = run()
    assert out_part == out_full
    np.testing.assert_array_equal(s_part, s_full)
    assert t_part == t_full
    # left out: 5 commands of each of the 4 reads' second configuration, 4 of the first configuration of
    # the 3 reads after a sweep; 13 of the generator's and 13 of the scope's setup, the generator's low level
    # read back, the scope's :stop (stopped after the capture fetched before) and its 6 transfer settings for
    # each of the 3 trains after the first, and the generator's 2 levels for the one train at the amplitude
    # of the train before
    assert n_full - n_part == 4 * 5 + 3 * 4 + 3 * (13 + 13 + 1 + 1 + 6) + 2, (n_part, n_full)
