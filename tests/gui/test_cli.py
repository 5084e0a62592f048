"""``tspcm gui``: refusals as one line with the documented exit codes, the procedure chooser, and a
whole session through the real event loop (the window closed by a timer)."""

import logging

from pymeasure.display.Qt import QtCore, QtWidgets

from tspcm_lab import cli
from tspcm_lab.gui.dialogs import ProcedureChooser
from tspcm_lab.gui.window import RunWindow


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_procedure_and_bad_bench_are_refused_before_any_window(qtbot, capsys, tmp_path):
    code, _, err = run_cli(capsys, "gui", "no-such-procedure", "--sim")
    assert code == 2 and "no procedure named 'no-such-procedure'" in err and "iv-sweep" in err
    code, _, err = run_cli(capsys, "gui", "iv-sweep", "--bench", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in err and "no such bench file" in err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    assert not [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, RunWindow) and w.isVisible()]


def test_without_a_display_it_says_so(capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run_cli(capsys, "gui", "iv-sweep", "--sim")
    assert code == 1 and "no display" in err and "xvfb-run" in err


def test_chooser_lists_the_registered_procedures(qtbot):
    chooser = ProcedureChooser()
    qtbot.addWidget(chooser)
    names = chooser.names()
    assert {"iv-sweep", "pulse-train", "spike-train", "pattern"} <= set(names)
    assert names == sorted(names)
    chooser.select("pulse-train")
    assert chooser.chosen == "pulse-train"


def test_a_gui_session_from_the_command_line(qtbot, capsys, tmp_path):
    """`tspcm gui iv-sweep --sim`: the window opens on the simulated bench; closing it ends the event
    loop with exit code 0 and the bench closed."""
    seen = {}

    def close_window():
        windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, RunWindow) and w.isVisible()]
        seen["windows"] = windows
        for window in windows:
            seen["title"] = window.windowTitle()
            window.close()

    QtCore.QTimer.singleShot(0, close_window)
    root_handlers = list(logging.getLogger().handlers)
    code, _, err = run_cli(capsys, "gui", "iv-sweep", "--sim", "--seed", "4", "--output", str(tmp_path / "r"))
    assert code == 0, err
    (window,) = seen["windows"]
    assert seen["title"] == "tspcm gui - iv-sweep on simulated single cell (simulated, seed 4)"
    assert window.session.bench.closed  # closing the window shut the bench down
    assert logging.getLogger().handlers == root_handlers  # the log widget's handler was taken off the root


def test_gui_on_an_unreachable_x_display_says_so_in_one_line(tmp_path):
    """Qt would abort with "could not load the Qt platform plugin xcb" (exit 134); tspcm gui says why."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    tspcm = Path(sys.executable).with_name("tspcm")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = ":87"  # no X server there
    out = subprocess.run([str(tspcm), "gui", "iv-sweep", "--sim"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "cannot connect to the X display :87" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    plugins = tmp_path / "platforms"  # an xcb plugin that does not load (as when its libraries are missing)
    plugins.mkdir()
    (plugins / "libqxcb.so").write_bytes(b"not a library")
    env["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(plugins)
    out = subprocess.run([str(tspcm), "gui", "iv-sweep", "--sim"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "xcb plugin does not load" in out.stderr and "libxcb-icccm4" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_gui_pattern_on_the_default_simulated_bench_gets_the_array(qtbot, capsys, tmp_path):
    """`tspcm gui pattern --sim`: the default single-cell bench cannot run a 4x4 pattern; the window
    opens on the built-in simulated 4x4 array and says so, and Queue is not refused."""
    seen = {}

    def check_and_close():
        (window,) = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, RunWindow) and w.isVisible()]
        seen["bench"] = window.session.name
        seen["status"] = window.statusBar().currentMessage()
        from tspcm_lab.gui.app import defaults_refused

        seen["refused"] = defaults_refused(window.procedure_class, window.session)
        window.close()

    QtCore.QTimer.singleShot(0, check_and_close)
    code, _, err = run_cli(
        capsys, "gui", "pattern", "--sim", "--seed", "3", "--output", str(tmp_path / "r"), "--history", "0"
    )
    assert code == 0, err
    assert seen["bench"] == "simulated 4x4 array" and "sim-4x4" in seen["status"] and seen["refused"] == ""
