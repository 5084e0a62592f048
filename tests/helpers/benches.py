"""A real simulated bench reached the two ways a client can: over TCP with pyvisa-py, or in-process."""

from __future__ import annotations

import contextlib

from sim_backend.visa import close_bench, get_host


@contextlib.contextmanager
def real_bench_access(kind: str, seed: int):
    """A fresh real bench (device model and all four instruments) reached over TCP with pyvisa-py
    (``kind="py"``) or in-process (``"tspcm"``): yields ``(bench, visa_library, address)`` where
    ``address(resource)`` is the VISA resource string a client opens. Discarded afterwards."""
    spec = f"seed={seed}"
    host = get_host(spec)
    server = None
    try:
        if kind == "py":
            server = host.serve(base_port=0)
            server.start()
            yield host.bench, "@py", server.resource_string
        else:
            yield host.bench, f"{spec}@tspcm", lambda resource: resource
    finally:
        if server is not None:
            server.stop()
        close_bench(spec)
