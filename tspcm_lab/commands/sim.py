"""``tspcm sim``: the simulated bench's ways in, from the command line.

    tspcm sim resources [--bench SPEC] [--port N]
        each VISA resource (for ``visa_library="<SPEC>@tspcm"``), the model it emulates and its TCP port
    tspcm sim serve [--bench FILE|SPEC] [--port N] [--host 127.0.0.1] [--fault F ...] [--idle-timeout S]
                    [--control]
        serve every virtual instrument as a raw SCPI socket (one port each, from N); prints the port map,
        stops cleanly on Ctrl+C / SIGTERM; --control adds the bench's control point (virtual time,
        snapshot) on the next port

SPEC is a bench spec: "" (default single cell, seed 0), "seed=42", "path/to/bench.toml", options joined
with ";". A fault F is ``<resource-or-role>:<kind>[=<value>]``, e.g. ``smu:latency=0.2``, ``smu:drop=5``,
``awg:hang``, ``scope:error=-350,Queue overflow`` (see ``sim_backend.faults``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import threading

from tspcm_lab.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="the simulated bench: list its resources, serve it over TCP",
        description="The simulated bench's ways in: list its resources, serve it over TCP.",
    )
    sim = parser.add_subparsers(dest="sim_command", metavar="SIMCOMMAND")
    parser.set_defaults(func=lambda args: _no_subcommand(parser))

    res = sim.add_parser("resources", help="list each resource with its emulated model and TCP port")
    _bench_option(res)
    res.add_argument("--port", type=int, default=5025, help="TCP base port of `tspcm sim serve` (default 5025)")
    res.set_defaults(func=run_resources)

    srv = sim.add_parser(
        "serve",
        help="serve each virtual instrument on its own TCP port (raw SCPI socket)",
        description="Serve each virtual instrument on its own TCP port (raw SCPI socket), as a LAN instrument's"
        " port 5025: connect with pyvisa-py (@py) to TCPIP::127.0.0.1::<port>::SOCKET, newline-terminated."
        " `tspcm sim resources` lists the ports.",
    )
    _bench_option(srv)
    srv.add_argument(
        "--port",
        type=int,
        default=5025,
        help="base port: instrument i listens on PORT+i (default 5025; 0 = any free ports)",
    )
    srv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, loopback only; 0.0.0.0 exposes the bench)",
    )
    srv.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="F",
        help="inject a fault, e.g. smu:latency=0.2, smu:drop=5, awg:hang, smu:error=-350,Overflow",
    )
    srv.add_argument(
        "--max-message-bytes",
        type=int,
        default=16 * 1024 * 1024,
        help="longest accepted message in bytes; longer closes that connection (default 16 MiB)",
    )
    srv.add_argument(
        "--max-clients",
        type=int,
        default=1024,
        help="connections served at once (default 1024); past it a new client still gets in and "
        "the connection idle the longest is closed",
    )
    srv.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="close a connection silent for this long: no command sent, no reply taken (default 600 s; 0 = never)",
    )
    srv.add_argument(
        "--control",
        action="store_true",
        help="also serve the bench's control point on the next port (virtual time: :WAIT <s>, "
        ":TIME?; :SNAPshot? as JSON), for a client in another process",
    )
    srv.add_argument(
        "--stop-on-eof",
        action="store_true",
        help="also stop when standard input closes (the process that started it has ended)",
    )
    srv.set_defaults(func=run_serve)


def _bench_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bench",
        default="",
        metavar="FILE|SPEC",
        help='bench file or spec, e.g. "seed=42" or "bench.toml" (default: single cell, seed 0)',
    )


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _open(spec: str, faults: list[str]):
    from sim_backend.faults import open_bench_with_faults

    try:
        bench, plan = open_bench_with_faults(spec)
    except (ValueError, OSError, KeyError) as exc:
        raise CliError(f"cannot open bench {spec!r}: {exc}", 2) from None
    for text in faults:
        try:
            plan.add_text(text)
        except (ValueError, TypeError) as exc:
            raise CliError(f"--fault: {exc}", 2) from None
    return bench, plan


def _check_port(port: int, count: int) -> None:
    if not 0 <= port <= 65535 or (port and port + count - 1 > 65535):
        raise CliError(f"--port must be in [0, {65536 - count}] for {count} instruments, got {port}", 2)


def run_resources(args: argparse.Namespace) -> int:
    from sim_backend.faults import serving_order

    bench, _ = _open(args.bench, [])
    names = serving_order(bench.instruments)
    _check_port(args.port, len(names))
    rows = [("VISA resource (@tspcm)", "model", "TCP port (tspcm sim serve)")]
    for index, name in enumerate(names):
        model = getattr(bench.instruments[name], "model", "?")
        rows.append((name, model, str(args.port + index) if args.port else "any free"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from sim_backend.server import DEFAULT_MAX_BUFFERED_BYTES, LOOPBACK_HOSTS, SimServer, serve

    bench, plan = _open(args.bench, args.fault)
    _check_port(args.port, len(bench.instruments) + args.control)
    if args.max_message_bytes < 64:
        raise CliError(f"--max-message-bytes must be >= 64, got {args.max_message_bytes}", 2)
    if args.max_clients < 1:
        raise CliError(f"--max-clients must be >= 1, got {args.max_clients}", 2)
    if not (args.idle_timeout == 0 or 0 < args.idle_timeout <= 86400):
        raise CliError(f"--idle-timeout must be 0 (never) or a time up to 86400 s, got {args.idle_timeout}", 2)
    if args.host not in LOOPBACK_HOSTS:
        print(
            f"tspcm sim serve: warning: binding {args.host}: anyone who can reach this address can drive the bench",
            file=sys.stderr,
        )
    server = SimServer(
        bench,
        host=args.host,
        base_port=args.port,
        faults=plan,
        max_message_bytes=args.max_message_bytes,
        max_clients=args.max_clients,
        idle_timeout_s=args.idle_timeout or None,
        max_buffered_bytes=max(args.max_message_bytes, DEFAULT_MAX_BUFFERED_BYTES),
        control=args.control,
    )

    def announce(ports: dict[str, int]) -> None:
        label = args.bench or "default"
        print(f"tspcm sim serve: bench {label!r} on {args.host}; Ctrl+C or SIGTERM stops", flush=False)
        width = max(len(name) for name in ports)
        for name in ports:
            model = getattr(server.handlers[name], "model", "?")
            print(f"  {name.ljust(width)}  {server.resource_string(name)}  {model}", flush=False)
        for fault_text in args.fault:
            print(f"  fault: {fault_text}")
        print("ready", flush=True)

    stop = threading.Event()
    if args.stop_on_eof:

        def watch_stdin() -> None:
            # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader aborts the
            # interpreter at exit
            with contextlib.suppress(OSError, ValueError):
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True, name="tspcm-sim-stdin").start()
    try:
        serve(server, on_ready=announce, stop_event=stop)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise CliError(
                f"cannot listen on {args.host} from port {args.port}: {exc.strerror}; choose another --port or --host",
                1,
            ) from None
        raise
    print("tspcm sim serve: stopped", flush=True)
    return 0
