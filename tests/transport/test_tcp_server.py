"""The SCPI-over-TCP server, reached with real pyvisa-py (``@py``) and with raw sockets."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import pyvisa

from sim_backend.faults import DropConnection, Latency, StopAnswering
from sim_backend.server import SimServer

from tests.helpers.probe_bench import ProbeBench

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"
SERVE_PROBE = Path(__file__).with_name("serve_probe.py")


def _resource(running: SimServer, name: str = SMU) -> str:
    return f"TCPIP::127.0.0.1::{running.ports[name]}::SOCKET"


def _connect(running: SimServer, name: str = SMU) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", running.ports[name]), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_line(sock: socket.socket) -> bytes:
    """One reply line (a byte at a time, so nothing of the next reply is consumed)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError(f"closed by the server after {bytes(data)!r}")
        data += byte
    return bytes(data)


def test_ports_follow_the_shared_table_order(served_probe):
    running, _ = served_probe
    assert list(running.ports) == [SMU, AWG]
    assert len(set(running.ports.values())) == 2


def test_pyvisa_py_socket_query_both_terminations(served_probe, py_rm):
    running, bench = served_probe
    smu = py_rm.open_resource(_resource(running), read_termination="\n")  # write termination "\r\n"
    assert smu.query("*IDN?") == "TSPCM-TEST,Probe SMU,3,1.0"
    smu.write("VAL 2.5")
    smu.write_termination = "\n"
    smu.write("*CLS")
    assert smu.query("VAL?") == "2.5"
    assert bench.instruments[SMU].messages == ["*IDN?", "VAL 2.5", "*CLS", "VAL?"]


def test_pyvisa_py_binary_blocks_both_ways(served_probe, py_rm):
    running, _ = served_probe
    smu = py_rm.open_resource(_resource(running), read_termination="\n", write_termination="\n")
    assert list(smu.query_binary_values("DATA? 1000", datatype="B")) == [i % 256 for i in range(1000)]
    smu.write_binary_values("BLOCK ", list(range(256)) * 4, datatype="B")
    assert smu.query("BLOCK?") == f"1024,{4 * sum(range(256))}"


def test_error_queue_and_sync_over_tcp(served_probe, py_rm):
    running, _ = served_probe
    smu = py_rm.open_resource(_resource(running), read_termination="\n", write_termination="\n", timeout=100)
    smu.write("NOT:A:COMMAND")
    assert smu.query("SYST:ERR?") == '-113,"Undefined header"'
    assert smu.query("VAL?") == "0"  # no stray reply to the bad command


def test_several_clients_get_their_own_replies(served_probe, py_rm):
    running, _ = served_probe
    failures: list[str] = []

    def client(index: int, name: str) -> None:
        inst = py_rm.open_resource(_resource(running, name), read_termination="\n", write_termination="\n")
        for n in range(60):
            reply = inst.query(f"ECHO c{index}-{n}")
            if reply != f"c{index}-{n}":
                failures.append(f"client {index} sent c{index}-{n}, got {reply!r}")
        inst.close()

    threads = [threading.Thread(target=client, args=(i, SMU if i % 2 else AWG)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []


def test_garbage_bytes_are_rejected_and_the_connection_keeps_working(served_probe):
    running, bench = served_probe
    with _connect(running) as sock:
        sock.sendall(b"\x00\xff\xfe\x80garbage;;\x1b[2J\n\r\n#9\n'unterminated\n")
        sock.sendall(b"*IDN?\n")
        assert _read_line(sock) == b"TSPCM-TEST,Probe SMU,3,1.0\n"
        sock.sendall(b"SYST:ERR?\n")
        assert _read_line(sock).startswith(b"-113,")
    assert bench.instruments[SMU].messages[0] == "\x00\xff\xfe\x80garbage;;\x1b[2J"


def test_huge_line_closes_only_that_connection(served_probe):
    running, _ = served_probe
    other = _connect(running)
    chunk = b"x" * (1 << 20)
    sent = 0
    with _connect(running) as sock:
        with pytest.raises(OSError):  # reset or broken pipe once the server has had enough
            while sent < 100 * (1 << 20):
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\n")
            _read_line(sock)  # a server that swallowed 100 MB would still be reachable here
    assert sent <= 32 * (1 << 20)  # the 16 MiB default limit, plus what the socket buffers held
    other.sendall(b"*IDN?\nSYST:ERR?\n")
    assert _read_line(other) == b"TSPCM-TEST,Probe SMU,3,1.0\n"
    data = _read_line(other)
    assert data == b'-363,"Input buffer overrun"\n'
    other.close()


def test_client_that_does_not_read_is_pushed_back_and_others_carry_on(served_probe):
    running, _ = served_probe
    request = b"DATA? 1000\n" * 2000  # ~2 MB of replies per 22 kB sent
    with _connect(running) as sock:
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):  # the server stops reading: our sends block
            for _ in range(200):  # ~400 MB of replies if the server buffered them all
                sock.sendall(request)
        with _connect(running, AWG) as other:
            other.sendall(b"*IDN?\n")
            assert _read_line(other).startswith(b"TSPCM-TEST,Probe AWG")


def test_disconnect_mid_command_leaves_the_server_serving(served_probe, py_rm):
    running, bench = served_probe
    with _connect(running) as sock:
        sock.sendall(b"VAL 12")  # no terminator: an unfinished message
    with _connect(running) as sock:
        sock.sendall(b"DATA? 100000\n")  # a reply nobody reads
    with _connect(running) as sock:
        sock.sendall(b"BLOCK #6100000" + b"\x00" * 1000)  # half a binary block
    smu = py_rm.open_resource(_resource(running), read_termination="\n", write_termination="\n")
    assert smu.query("VAL?") == "0"  # the unfinished "VAL 12" was never run
    assert smu.query("*IDN?").startswith("TSPCM-TEST")


def test_latency_fault_delays_replies_in_order(served_probe, py_rm):
    running, _ = served_probe
    running.faults.add("smu", Latency(seconds=0.15))
    smu = py_rm.open_resource(_resource(running), read_termination="\n", write_termination="\n", timeout=20)
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("ECHO a")
    assert info.value.error_code == pyvisa.constants.StatusCode.error_timeout
    smu.write("ECHO b")
    smu.timeout = 5000
    assert [smu.read(), smu.read()] == ["a", "b"]


def test_a_latency_fault_longer_than_the_idle_timeout_still_replies():
    """The delayed reply is the server's doing, not the client's silence: the connection stays open."""
    with SimServer(ProbeBench(""), base_port=0, idle_timeout_s=0.5) as server:
        server.faults.add("smu", Latency(seconds=1.0))
        with _connect(server) as sock:
            sock.sendall(b"*OPC?\n")
            assert _read_line(sock) == b"1\n"


def test_stop_answering_fault_times_out(served_probe, py_rm):
    running, _ = served_probe
    running.faults.add("smu", StopAnswering(at=2))
    smu = py_rm.open_resource(_resource(running), read_termination="\n", write_termination="\n", timeout=50)
    assert smu.query("VAL?") == "0"
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("VAL?")
    assert info.value.error_code == pyvisa.constants.StatusCode.error_timeout


def test_drop_fault_closes_the_socket_at_the_nth_command(served_probe):
    running, _ = served_probe
    running.faults.add("smu", DropConnection(at=2, persistent=False))
    with _connect(running) as sock:
        sock.sendall(b"VAL?\n")
        assert _read_line(sock) == b"0\n"
        sock.sendall(b"VAL?\n")
        assert sock.recv(100) == b""  # closed by the server, no reply
    with _connect(running) as sock:  # a one-off drop: reconnecting works
        sock.sendall(b"VAL?\n")
        assert _read_line(sock) == b"0\n"


def test_binds_loopback_by_default_and_only_the_address_asked():
    bench = ProbeBench("")
    with SimServer(bench, base_port=0) as running:
        assert running.listeners[SMU].getsockname()[0] == "127.0.0.1"
    running = SimServer(bench, host="127.0.0.2", base_port=0)
    try:
        running.start()
    except OSError:
        pytest.skip("127.0.0.2 is not usable here")
    try:
        port = running.ports[SMU]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        with socket.create_connection(("127.0.0.2", port), timeout=2) as sock:
            sock.sendall(b"*IDN?\n")
            assert _read_line(sock).startswith(b"TSPCM-TEST")
    finally:
        running.stop()


def test_at_max_clients_a_new_client_gets_in_and_the_idlest_connection_goes():
    with SimServer(ProbeBench(""), base_port=0, max_clients=2) as server:
        first, second = _connect(server), _connect(server, AWG)
        for sock in (first, second):
            sock.sendall(b"*IDN?\n")
            assert _read_line(sock).startswith(b"TSPCM-TEST")  # both admitted
        second.sendall(b"*IDN?\n")
        assert _read_line(second).startswith(b"TSPCM-TEST,Probe AWG")  # first is now the idlest
        with _connect(server) as third:
            third.sendall(b"*IDN?\n")
            assert _read_line(third).startswith(b"TSPCM-TEST,Probe SMU")  # never locked out
            assert first.recv(10) == b""  # closed to make room
        second.sendall(b"*IDN?\n")
        assert _read_line(second).startswith(b"TSPCM-TEST,Probe AWG")
        first.close()
        second.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout():
    with SimServer(ProbeBench(""), base_port=0, idle_timeout_s=1.0) as server:
        with _connect(server) as idle, _connect(server) as busy:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                busy.sendall(b"*OPC?\n")  # keeps talking: stays open
                assert _read_line(busy) == b"1\n"
                time.sleep(0.05)
            assert idle.recv(10) == b""
            busy.sendall(b"*OPC?\n")
            assert _read_line(busy) == b"1\n"
            assert server.connection_count == 1


def test_a_client_that_never_reads_is_closed_after_the_idle_timeout():
    """Its connection's thread blocks sending replies nobody reads, so the connection is silent too: it is
    closed like an idle one (else that thread would stay blocked for good), and others are served."""
    with SimServer(ProbeBench(""), base_port=0, idle_timeout_s=1.0) as server:
        with _connect(server) as stuck:
            stuck.settimeout(0.3)
            with pytest.raises(socket.timeout):  # the server's send blocks, then it stops reading ours
                for _ in range(200):
                    stuck.sendall(b"DATA? 1000\n" * 2000)
            deadline = time.monotonic() + 10
            while server.connection_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.connection_count == 0
        with _connect(server) as other:
            other.sendall(b"*OPC?\n")
            assert _read_line(other) == b"1\n"


def test_unfinished_messages_of_all_connections_are_bounded():
    """Each connection may hold up to max_message_bytes of an unfinished line, all of them together
    max_buffered_bytes: the one that would pass it is closed (-363), the others carry on."""
    with SimServer(ProbeBench(""), base_port=0, max_message_bytes=4096, max_buffered_bytes=8192) as server:
        socks = [_connect(server) for _ in range(3)]
        for sock in socks[:2]:
            sock.sendall(b"X" * 3000)  # 6000 bytes held
        deadline = time.monotonic() + 10
        while server._buffered < 6000 and time.monotonic() < deadline:
            time.sleep(0.01)
        socks[2].sendall(b"Y" * 3000)  # would make 9000
        assert socks[2].recv(10) == b""
        for sock in socks[:2]:
            sock.sendall(b"\n*OPC?\n")
            assert _read_line(sock) == b"1\n"
            sock.close()
        assert server.bench.instruments[SMU].errors[:1] == [(-363, "Input buffer overrun")]


def test_one_bench_through_tspcm_and_tcp_at_once(probe_spec):
    from sim_backend.visa import get_host

    host = get_host(probe_spec)
    with host.serve(base_port=0) as server:
        with _connect(server) as sock:
            sock.sendall(b"VAL 42\n")
            sock.sendall(b"*OPC?\n")
            assert _read_line(sock) == b"1\n"
        local = pyvisa.ResourceManager(f"{probe_spec}@tspcm").open_resource(SMU, read_termination="\n")
        assert local.query("VAL?") == "42"
        host.faults.add("smu", DropConnection(at=1))  # one fault plan for both ways in
        with _connect(server) as sock:
            sock.sendall(b"VAL?\n")
            assert sock.recv(10) == b""
        with pytest.raises(pyvisa.VisaIOError):
            local.query("VAL?")


# -- `tspcm sim` command line ---------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_subprocess_prints_ports_and_stops_cleanly(sig):
    args = [
        sys.executable,
        str(SERVE_PROBE),
        "serve",
        "--port",
        "0",
        "--bench",
        "seed=9",
        "--fault",
        "awg:error=-350,Queue overflow",
    ]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip() == "ready":
                break
        ports = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"(GPIB0::\d+::INSTR)\s+TCPIP::127\.0\.0\.1::(\d+)::SOCKET", "".join(lines))
        }
        assert set(ports) == {SMU, AWG}, f"no port map in the output: {lines!r}"
        with socket.create_connection(("127.0.0.1", ports[SMU]), timeout=5) as smu:
            smu.sendall(b"*IDN?\n")
            assert _read_line(smu) == b"TSPCM-TEST,Probe SMU,9,1.0\n"
        with socket.create_connection(("127.0.0.1", ports[AWG]), timeout=5) as awg:
            awg.sendall(b"SYST:ERR?\n")
            assert _read_line(awg) == b'-350,"Queue overflow"\n'
            proc.send_signal(sig)  # with a client still connected
            out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", ports[SMU]), timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def sim_cli(monkeypatch):
    """``tspcm_lab.cli.main`` with only the ``sim`` command registered (others may be mid-edit)."""
    from tspcm_lab import cli

    monkeypatch.setattr(cli, "COMMANDS", {"sim": "tspcm_lab.commands.sim"})
    return cli.main


def test_resources_command_lists_models_and_ports(probe_specs, sim_cli, capsys):
    main = sim_cli
    assert main(["sim", "resources", "--bench", "seed=4", "--port", "6000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"GPIB0::18::INSTR\s+Probe SMU\s+6000$", lines[1])
    assert re.match(r"GPIB0::10::INSTR\s+Probe AWG\s+6001$", lines[2])


def test_serve_command_reports_a_busy_port(probe_specs, sim_cli, capsys):
    main = sim_cli
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["sim", "serve", "--port", str(port)]) == 1
    assert "choose another --port" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sim", "serve", "--fault", "smu:explode"], "--fault"),
        (["sim", "serve", "--fault", "dmm:hang"], "not a resource of this bench"),
        (["sim", "serve", "--port", "70000"], "--port"),
        (["sim", "resources", "--bench", "nonsense=1"], "nonsense"),
    ],
)
def test_bad_command_line_values_are_named(probe_specs, sim_cli, capsys, argv, message):
    assert sim_cli(argv) == 2
    assert message in capsys.readouterr().err


def test_malformed_blocks_over_tcp_and_tspcm_give_errors_and_answers():
    """The real SMU emulator, reached by a raw socket and by @tspcm: '#9' + newline and '#' + a
    non-ASCII digit become SCPI errors, and the session goes on."""
    import pyvisa_tspcm
    from sim_backend.bench import open_bench

    bench = open_bench("")
    with SimServer(bench, base_port=0) as server, _connect(server) as sock:
        sock.sendall(b"#9\n*OPC?\n")
        assert _read_line(sock) == b"1\n"
        sock.sendall(":SOUR:VOLT #\u00b2\n*OPC?\n".encode("latin-1"))
        assert _read_line(sock) == b"1\n"
        sock.sendall(b"SYST:ERR?\n")
        assert int(_read_line(sock).split(b",")[0]) in range(-199, -99)
    spec = "seed=424242"
    try:
        smu = pyvisa.ResourceManager(f"{spec}@tspcm").open_resource(SMU, read_termination="\n", write_termination="\n")
        smu.write_raw(b":SOUR:VOLT #\xb212\n")  # used to raise ValueError out of the client's write
        smu.write("#9")
        assert smu.query("*OPC?") == "1"
        assert int(smu.query("SYST:ERR?").split(",")[0]) in range(-199, -99)
    finally:
        pyvisa_tspcm.discard_bench(spec)
