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


def pytest_collection_modifyitems(session, config, items):
    """Modules with the most tests marked slow (the device fit first) run first, each module's tests kept
    together and in their order. Spread over workers (README: ``-n 2 --dist loadscope``, whole modules
    to a worker) the longest work then starts at once instead of last, so that no worker ends its share
    long before the other; in one process only the order of the modules changes."""
    slow: dict[str, int] = {}
    for item in items:
        if item.get_closest_marker("slow") is not None:
            slow[item.nodeid.split("::")[0]] = slow.get(item.nodeid.split("::")[0], 0) + 1
    items.sort(key=lambda item: -slow.get(item.nodeid.split("::")[0], 0))


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
