"""Fixtures of the GUI tests: the real window (offscreen Qt) on the simulated bench.

``spy`` records the commands the virtual SMU and AWG receive (the instruments are the real virtual ones,
built through the simulated bench's factory hook). ``open_window`` opens a bench session and a
``RunWindow``, shows it (clicks need an exposed window) and, at teardown, closes it (abort, outputs off,
bench closed) and takes PyMeasure's log-widget handler off the root logger (ManagedWindow adds it and
never removes it; later tests would log into a deleted widget).
"""

import logging

import pytest

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"


@pytest.fixture
def open_window(qtbot, spy, tmp_path):
    """open_window(procedure_class, seed=..., own_process=False, **RunWindow kwargs) -> RunWindow, shown,
    on a fresh simulated bench with that seed (in its own process, as ``tspcm gui`` has it, with
    ``own_process``; in this one, where ``spy`` sees its commands, by default); run files in
    tmp_path/"runs" unless output_dir is given."""
    from tspcm_lab.gui.window import RunWindow
    from tspcm_lab.runner import BenchSession

    windows = []
    root = logging.getLogger()
    level = root.level

    def make(procedure_class, seed=1, own_process=False, **kwargs):
        kwargs.setdefault("output_dir", tmp_path / "runs")
        kwargs.setdefault("history", 0)
        session = BenchSession.open("sim", seed=seed, require=procedure_class.REQUIRED_ROLES, own_process=own_process)
        window = RunWindow(procedure_class, session, **kwargs)
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window in windows:
        window.shut_down()  # abort, wait, outputs off, bench closed (closing mid-run would ask first)
        window.close()
        root.removeHandler(window.log_widget.handler)
    root.setLevel(level)
