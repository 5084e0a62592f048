"""Shared test configuration: Qt offscreen before anything imports Qt; a spy on the simulated SMU and AWG."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from sim_backend import faults
from sim_backend.bench import open_bench

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"


def pytest_report_header(config):
    """Which copy of the package the tests run against: the checkout (editable install) or an installed
    wheel (.ci/wheel runs the tests from outside the checkout)."""
    import tspcm_lab

    return f"tspcm_lab {tspcm_lab.__version__} from {os.path.dirname(tspcm_lab.__file__)}"


@pytest.fixture
def spy():
    """Every simulated bench built during the test records the commands its SMU and AWG receive (the
    instruments themselves are the real virtual ones, built through the bench factory hook).
    Returns {spec: {resource: [commands], "bench": VirtualBench}}."""
    seen: dict = {}

    def factory(spec):
        bench = open_bench(spec)
        record = seen.setdefault(spec, {})
        for resource in (SMU, AWG):
            instrument = bench.instruments[resource]
            commands = record.setdefault(resource, [])

            def handle(message, _orig=instrument.handle, _log=commands):
                _log.append(message if isinstance(message, str) else message.decode("latin-1"))
                return _orig(message)

            instrument.handle = handle
        record["bench"] = bench
        return bench

    previous = faults.set_bench_factory(factory)
    yield seen
    faults.set_bench_factory(previous)
