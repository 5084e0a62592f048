"""Fixtures for the transport tests: the probe bench behind ``@tspcm`` and behind a TCP server."""

from __future__ import annotations

import itertools

import pytest

from sim_backend import visa
from sim_backend.faults import set_bench_factory
from sim_backend.server import SimServer
from sim_backend.visa import close_bench

from tests.helpers.probe_bench import ProbeBench, open_probe_bench

_seeds = itertools.count(7_000_001)


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
        close_bench(spec)


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
