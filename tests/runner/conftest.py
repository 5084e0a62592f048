"""Fixtures of the runner tests.

The test procedure (runner_procedures.SmuSteps) reaches the runner the way any lab's procedure does:
through an entry point of the group ``tspcm_lab.procedures``, declared in a real ``*.dist-info``
directory on sys.path (importlib.metadata finds it like an installed package's).
"""

import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def write_dist_info(site: Path, dist: str, entry_points: dict[str, str], version: str = "0.1") -> Path:
    """A minimal installed-distribution record: METADATA + entry_points.txt in <dist>-<version>.dist-info."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[tspcm_lab.procedures]"] + [f"{name} = {value}" for name, value in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """A site directory registering the test procedure ``smu-steps``; on sys.path for the session."""
    site = tmp_path_factory.mktemp("site")
    write_dist_info(site, "tspcm-runner-tests", {"smu-steps": "runner_procedures:SmuSteps"})
    for path in (str(site), str(HERE)):
        if path not in sys.path:
            sys.path.insert(0, path)
    return site


@pytest.fixture
def child_env(plugin_site) -> dict:
    """Environment for a subprocess that sees the test procedure too."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_site), str(HERE), str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    return env


def wait_for_rows(path, process=None, deadline_s=60.0):
    """Poll the live run file until it holds rows (the run is then mid-way); fail if the child ends."""
    from tspcm_lab.store import open_run

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.communicate()}")
        if Path(path).exists():
            try:
                if open_run(path).n_rows > 0:
                    return
            except Exception:  # not live yet
                pass
        time.sleep(0.05)
    pytest.fail("no rows appeared in the run file")
