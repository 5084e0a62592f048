"""Fixtures for the transport tests: the probe bench behind ``@tspcm`` and behind a TCP server."""

from __future__ import annotations

import contextlib
import itertools

import pytest

from sim_backend.faults import set_bench_factory
from sim_backend.server import SimServer
from sim_backend import visa
from sim_backend.visa import TspcmVisaLibrary, discard_bench, get_host

from .probe_bench import ProbeBench, open_probe_bench

_seeds = itertools.count(7_000_001)


def _close_library(spec: str) -> None:
    lib = TspcmVisaLibrary._registry.get((TspcmVisaLibrary, spec or "default"))
    if lib is not None and lib.resource_manager is not None:
        lib.resource_manager.close()


@pytest.fixture
def probe_specs():
    """``make(extra="") -> spec``: a fresh probe-bench spec (unique seed) for ``"<spec>@tspcm"``.

    The probe bench factory is installed for the test; every spec made (and the default spec "") is
    closed and discarded afterwards (the default one only if this test created it), so no state leaks into other tests.
    """
    previous = set_bench_factory(open_probe_bench)
    made: list[str] = []
    default_in_use = "" in visa._HOSTS  # another test's default bench: leave it alone

    def make(extra: str = "") -> str:
        spec = f"seed={next(_seeds)}" + (f";{extra}" if extra else "")
        made.append(spec)
        return spec

    yield make
    set_bench_factory(previous)
    for spec in made + ([] if default_in_use else [""]):
        _close_library(spec)
        discard_bench(spec)


@pytest.fixture
def probe_spec(probe_specs):
    return probe_specs()


@pytest.fixture
def served_probe():
    """A probe bench served on free loopback ports: ``(SimServer, bench)``."""
    bench = ProbeBench("seed=3")
    with SimServer(bench, base_port=0) as server:
        yield server, bench


@pytest.fixture
def py_rm():
    """A pyvisa-py ResourceManager, closed afterwards."""
    import pyvisa

    rm = pyvisa.ResourceManager("@py")
    yield rm
    rm.close()


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
        _close_library(spec)
        discard_bench(spec)
