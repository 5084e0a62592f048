"""A simulated bench in its own process (what ``tspcm gui`` uses): the server's control endpoint (virtual
time, snapshot), a bench session reaching it over TCP with its virtual clock, and the child's end."""

from __future__ import annotations

import json
import os
import socket

import pytest

from sim_backend.bench import open_bench
from sim_backend.control import CONTROL_RESOURCE
from sim_backend.server import SimServer


def _ask(sock: socket.socket, message: str) -> str:
    sock.sendall(message.encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1 << 16)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data[:-1].decode()


def test_the_control_endpoint_lets_virtual_time_pass_and_gives_the_snapshot():
    bench = open_bench("seed=12")
    with SimServer(bench, base_port=0, control=True) as server:
        assert list(server.ports)[-1] == CONTROL_RESOURCE and len(server.ports) == len(bench.instruments) + 1
        with socket.create_connection(("127.0.0.1", server.ports[CONTROL_RESOURCE]), timeout=30) as sock:
            assert _ask(sock, "*IDN?").startswith("TSPCM-LAB,SIMULATED BENCH")
            before = float(_ask(sock, ":TIME?"))
            assert _ask(sock, ":WAIT 1e4;*OPC?") == "1"
            assert float(_ask(sock, ":TIME?")) == pytest.approx(before + 1e4)
            assert bench.now_s == pytest.approx(before + 1e4)
            snapshot = json.loads(_ask(sock, ":SNAP?"))
            assert snapshot["wiring"]["smu_series_ohm"] == bench.wiring.smu_series_ohm and "device" in snapshot
            for bad in (":WAIT -1", ":WAIT nan", ":WAIT 1e400", ":WAIT"):
                assert _ask(sock, f"{bad};*OPC?") == "1"  # a bad command is refused, the line goes on
            assert float(_ask(sock, ":TIME?")) == pytest.approx(before + 1e4)
            assert _ask(sock, ":BOGUS?").startswith("ERROR,unknown command")
    # without control=True the bench is served as before: its instruments only
    with SimServer(open_bench("seed=12"), base_port=0) as server:
        assert CONTROL_RESOURCE not in server.ports


def test_a_session_with_the_bench_in_its_own_process():
    from tspcm_lab.runner import BenchSession
    from tspcm_lab.served import ServedClock

    session = BenchSession.open("sim", seed=21, own_process=True)
    served = session.served
    try:
        assert served.pid != os.getpid() and served.process.poll() is None
        assert session.simulated and session.spec == "seed=21"
        smu = session.bench.smu
        assert smu.driver.adapter.connection.resource_name.startswith("TCPIP0::127.0.0.1::")
        assert "2450" in smu.identity
        clock = session.bench.clock
        assert isinstance(clock, ServedClock) and clock.virtual
        start = clock.now_s()
        assert clock.wait(3600.0)  # an hour of retention: virtual, as in-process
        assert clock.now_s() == pytest.approx(start + 3600.0)
        snapshot = session.snapshot()["simulation"]
        assert snapshot["spec"] == "seed=21" and snapshot["process"].startswith("own") and "device" in snapshot
    finally:
        assert session.close() == []
    assert served.process.returncode == 0  # ended by the session, cleanly


def test_bad_simulated_options_name_the_option_and_leave_no_process():
    from tspcm_lab.runner import BenchSession

    with pytest.raises(ValueError, match=r"fault=smu:drop=0.*DropConnection"):
        BenchSession.open("sim", seed=1, sim_options="fault=smu:drop=0", own_process=True)


def test_the_bench_process_ends_when_its_parent_does():
    """The child's standard input is a pipe from its parent: when the parent ends (even by kill -9),
    the pipe closes and the child stops on its own."""
    from tspcm_lab.served import ServedBench

    served = ServedBench.start("seed=2")
    try:
        served.process.stdin.close()  # what the parent's death does
        assert served.process.wait(60) == 0
    finally:
        served.stop()
