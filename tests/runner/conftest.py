"""Fixtures of the runner tests.

The test procedure (tests.helpers.runner_procedures.SmuSteps) reaches the runner the way any lab's
procedure does: through an entry point of the group ``tspcm_lab.procedures``, declared in a real
``*.dist-info`` directory on sys.path (importlib.metadata finds it like an installed package's).
"""

import os
import sys
from pathlib import Path

import pytest

from tests.helpers.plugins import write_dist_info

#: the folder that holds the package ``tests`` (a child process imports the test procedure from it)
TESTS_PARENT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def plugin_site(tmp_path_factory):
    """A site directory registering the test procedure ``smu-steps``; on sys.path while the runner tests
    run, and off it after them (tests elsewhere, e.g. the GUI's window for every registered procedure, must
    not find a procedure of these tests, whatever order the modules run in)."""
    site = tmp_path_factory.mktemp("site")
    write_dist_info(site, "tspcm-runner-tests", {"smu-steps": "tests.helpers.runner_procedures:SmuSteps"})
    added = str(site) not in sys.path
    if added:
        sys.path.insert(0, str(site))
    yield site
    if added and str(site) in sys.path:
        sys.path.remove(str(site))


@pytest.fixture
def child_env(plugin_site) -> dict:
    """Environment for a subprocess that sees the test procedure too."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_site), str(TESTS_PARENT), env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    return env
