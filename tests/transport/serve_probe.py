"""Run ``tspcm sim ...`` on the probe bench in a subprocess: ``python serve_probe.py serve --port 0``.

The real CLI (``tspcm_lab.cli.main``), with the bench factory pointed at the test probe bench and only the
``sim`` command registered (so another command's module, broken or unfinished, cannot break this test).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the folder holding the package tests

from sim_backend.faults import set_bench_factory
from tspcm_lab import cli

from tests.helpers.probe_bench import open_probe_bench

if __name__ == "__main__":
    set_bench_factory(open_probe_bench)
    cli.COMMANDS = {"sim": "tspcm_lab.commands.sim"}
    sys.exit(cli.main(["sim", *sys.argv[1:]]))
