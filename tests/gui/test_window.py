"""The measurement window on the simulated bench: queue, live plot, run files, abort, refusals, reopening.

Every run is started by clicking the real window's Queue button and awaited on the Manager's signals;
run files are read back with the store's reader and plain h5py; output states are asked of the virtual
instruments themselves.
"""

import os
import re

import h5py
import numpy as np
import pytest
from pymeasure.display.Qt import QtCore

from tspcm_lab import plugins
from tspcm_lab.store import open_run

from tests.helpers.gui_procedures import SmuHold
from tests.helpers.runs import make_run

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"
RUN_TIMEOUT_MS = 60_000  # a deadline for a stuck run, not a speed requirement


def ask(spy, seed, resource, message):
    """Ask the virtual instrument itself (not through the VISA link)."""
    return spy[f"seed={seed}"]["bench"].instruments[resource].handle(message)


def output_on_commands(commands):
    return [c for c in commands if re.match(r"^:?OUTP(UT)?\d?\s+(ON|1)\b", c.strip(), re.I)]


def click_queue(qtbot, window):
    qtbot.mouseClick(window.queue_button, QtCore.Qt.MouseButton.LeftButton)


def plot_curve(experiment):
    """The run's curve in the "All columns" plot (any two columns)."""
    from pymeasure.display.curves import ResultsCurve

    return next(c for c in experiment.curve_list if isinstance(c, ResultsCurve))


def spike_train():
    return plugins.load_procedure("spike-train")


def test_queued_run_completes_into_a_run_file_listed_in_the_browser(qtbot, open_window, spy, tmp_path):
    from procedures.iv_sweep import cycle_levels

    window = open_window(plugins.load_procedure("iv-sweep"), seed=3, title="cell A1")
    assert (window.plot_widget.plot_frame.x_axis, window.plot_widget.plot_frame.y_axis) == (
        "Voltage (V)",
        "Current (A)",
    )
    window.inputs.cycles.setValue(2)
    seen_at_signal = {}

    def on_finished(experiment):  # what is true when the window hears the run has finished
        seen_at_signal["status"] = open_run(experiment.data_filename).status
        seen_at_signal["smu"] = ask(spy, 3, SMU, ":OUTP?")

    window.manager.finished.connect(on_finished)
    with qtbot.waitSignal(window.manager.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        click_queue(qtbot, window)
    experiment = blocker.args[0]
    path = experiment.data_filename

    # the file is complete when the window is told, the output already off
    assert seen_at_signal == {"status": "completed", "smu": "0"}
    assert ":INIT" in spy["seed=3"][SMU]  # the SMU ran its sweeps (its source turns on by itself)
    points = cycle_levels(2.5, 0.01, "positive").size
    run = open_run(path)
    assert (run.status, run.n_rows, run.procedure, run.seed, run.title) == (
        "completed",
        2 * points,
        "iv-sweep",
        3,
        "cell A1",
    )
    assert run.parameters["cycles"].value == 2 and run.parameters["stop_voltage_V"].units == "V"
    assert run.bench["simulation"]["spec"] == "seed=3"
    with h5py.File(path, "r") as h5:  # plain h5py, no tspcm code
        assert h5.attrs["status"] == "completed"
        assert h5["data/current_A"].shape == (2 * points,) and h5["data/current_A"].attrs["units"] == "A"
    columns = run.columns
    for cycle in (0, 1):  # the cell switched in every cycle: threshold above hold
        rows = columns["Cycle"] == cycle
        assert np.unique(columns["Cycle Vth (V)"][rows]) > np.unique(columns["Cycle Vhold (V)"][rows])
    assert columns["Current (A)"].max() == pytest.approx(10e-6, rel=0.05)  # on state, held at the compliance
    assert os.path.dirname(path) == str(tmp_path / "runs")

    # the browser lists the run with the file's status; the plot shows every row
    assert window.browser.topLevelItemCount() == 1
    item = window.browser.topLevelItem(0)
    assert (item.text(1), item.text(3)) == (os.path.basename(path), "Completed")
    curve = plot_curve(experiment)
    np.testing.assert_allclose(curve.xData, columns["Voltage (V)"])
    np.testing.assert_allclose(curve.yData, columns["Current (A)"])
    assert "completed" in window.statusBar().currentMessage()


def test_abort_turns_the_output_off_and_the_file_reads_aborted(qtbot, open_window, spy):
    window = open_window(SmuHold, seed=4)
    window.inputs.points.setValue(4)
    window.inputs.hold.setChecked(True)  # after 4 readings the SMU stays on until stopped
    click_queue(qtbot, window)
    experiment = window.manager.experiments[0]
    curve = plot_curve(experiment)
    # the live plot shows the streamed rows while the run is still going
    qtbot.waitUntil(lambda: curve.xData is not None and len(curve.xData) == 4, timeout=RUN_TIMEOUT_MS)
    assert window.manager.is_running() and experiment.results.live
    assert ask(spy, 4, SMU, ":OUTP?") == "1"  # the cell is biased now

    with qtbot.waitSignal(window.manager.abort_returned, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.abort_button, QtCore.Qt.MouseButton.LeftButton)
    assert ask(spy, 4, SMU, ":OUTP?") == "0"
    run = open_run(experiment.data_filename)
    assert (run.status, run.n_rows) == ("aborted", 4)  # the rows so far are kept
    assert window.browser.topLevelItem(0).text(3) == "Aborted"
    # nothing else was queued: the window is back to idle, the next Queue runs at once (no hidden pause)
    assert window.abort_button.text() == "Abort" and not window.abort_button.isEnabled() and not window.paused


def test_failure_is_reported_after_outputs_are_off(qtbot, open_window, spy):
    window = open_window(SmuHold, seed=5)
    window.inputs.points.setValue(10)
    window.inputs.fail_after.setValue(2)
    window.inputs.shutdown_delay_s.setValue(0.3)  # PyMeasure says "failed" before shutdown() runs
    at_signal = {}
    window.manager.failed.connect(
        lambda e: at_signal.update(smu=ask(spy, 5, SMU, ":OUTP?"), status=open_run(e.data_filename).status)
    )
    with qtbot.waitSignal(window.manager.failed, timeout=RUN_TIMEOUT_MS) as blocker:
        click_queue(qtbot, window)
    assert at_signal == {"smu": "0", "status": "failed"}  # PyMeasure reports failure before shutdown; we don't
    run = open_run(blocker.args[0].data_filename)
    assert run.n_rows == 2 and "simulated loss of the instrument" in run.error
    assert window.browser.topLevelItem(0).text(3) == "Failed"
    assert not window.abort_button.isEnabled()


def test_invalid_parameter_is_refused_before_anything_is_enabled(qtbot, open_window, spy, tmp_path):
    window = open_window(spike_train(), seed=6)
    window.inputs.spike_amplitude_V.setValue(8.0)  # within the parameter's range, above the bench's 5 V
    commands_before = len(spy["seed=6"][AWG]) + len(spy["seed=6"][SMU])
    click_queue(qtbot, window)

    assert len(window.manager.experiments.queue) == 0 and not window.manager.is_running()
    text = window.refusal_text
    assert "spike_amplitude_V" in text and "8 V" in text and "up to 5 V" in text
    assert window.refusal_box is not None and window.refusal_box.isVisible()
    assert text in window.refusal_box.text()
    assert text in window.log_widget.view.toPlainText()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # no run file
    assert len(spy["seed=6"][AWG]) + len(spy["seed=6"][SMU]) == commands_before  # nothing was sent at all
    assert not output_on_commands(spy["seed=6"][AWG] + spy["seed=6"][SMU])
    assert ask(spy, 6, AWG, "OUTP1?") == "0"

    # a rule between parameters is refused the same way (and the window still queues valid runs after)
    window.refusal_box.close()
    window.inputs.spike_amplitude_V.setValue(1.4)
    window.inputs.target_conductances_S.setText("1e-5, banana")
    click_queue(qtbot, window)
    assert "target_conductances_S" in window.refusal_text and len(window.manager.experiments.queue) == 0


def test_reopening_a_run_restores_its_parameters_and_curve(qtbot, open_window, tmp_path):
    folder = tmp_path / "earlier"
    folder.mkdir()
    path = make_run(
        folder / "a.h5",
        spike_train(),
        7,
        {"trains": 2, "spike_amplitude_V": 1.5, "spike_width_s": 2e-7, "store_traces": False},
    )
    window = open_window(spike_train(), seed=8)
    assert window.inputs.trains.value() == 5 and window.inputs.spike_amplitude_V.value() == pytest.approx(1.6)

    # the Open dialog's preview reads the run file
    from tspcm_lab.gui.dialogs import RunFileDialog

    dialog = RunFileDialog(window.procedure_class, widget_list=window.widget_list, parent=window)
    dialog.update_preview(str(path))
    preview = {
        dialog.preview_param.topLevelItem(i).text(0): dialog.preview_param.topLevelItem(i).text(1)
        for i in range(dialog.preview_param.topLevelItemCount())
    }
    assert preview["Trains per state"] == "2" and preview["Spike amplitude"].startswith("1.5")
    dialog.close()

    (experiment,) = window.open_runs([str(path)])
    assert window.inputs.trains.value() == 2
    assert window.inputs.spike_amplitude_V.value() == pytest.approx(1.5)
    assert window.inputs.spike_width_s.value() == pytest.approx(2e-7)
    assert window.inputs.store_traces.isChecked() is False
    procedure = window.make_procedure()  # Queue would run exactly these again
    assert (procedure.trains, procedure.spike_amplitude_V) == (2, pytest.approx(1.5))
    item = window.browser.topLevelItem(0)
    assert (item.text(1), item.text(3)) == ("a.h5", "Completed")
    assert len(plot_curve(experiment).xData) == 2

    # opened twice, or a run of another procedure: refused with a reason
    assert window.open_runs([str(path)]) == []
    other = make_run(folder / "other.h5", SmuHold, 9, {"points": 2})
    assert window.open_runs([str(other)]) == []
    (folder / "notes.h5").write_text("not HDF5")
    assert window.open_runs([str(folder / "notes.h5")]) == []
    log_text = window.log_widget.view.toPlainText()
    assert "a.h5 is already open" in log_text
    assert "other.h5 is a smu-hold run; this window runs spike-train (open it with: tspcm gui smu-hold)" in log_text
    assert "notes.h5: not a readable HDF5 file" in log_text
    assert window.browser.topLevelItemCount() == 1


def test_window_lists_earlier_runs_of_its_procedure(qtbot, open_window, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    make_run(folder / "one.h5", SmuHold, 10, {"points": 3})
    make_run(folder / "two.h5", SmuHold, 10, {"points": 2})
    (folder / "broken.h5").write_bytes(b"not a run")
    window = open_window(SmuHold, seed=11, output_dir=folder, history=10)
    names = sorted(window.browser.topLevelItem(i).text(1) for i in range(window.browser.topLevelItemCount()))
    assert names == ["one.h5", "two.h5"]
    for i in range(2):  # listed, not plotted until ticked
        assert window.browser.topLevelItem(i).checkState(0) == QtCore.Qt.CheckState.Unchecked


def test_closing_the_window_aborts_the_run_and_shuts_the_bench_down(qtbot, open_window, spy):
    window = open_window(SmuHold, seed=12)
    window.inputs.points.setValue(2)
    window.inputs.hold.setChecked(True)
    click_queue(qtbot, window)
    experiment = window.manager.experiments[0]
    qtbot.waitUntil(lambda: len(experiment.results.data) == 2, timeout=RUN_TIMEOUT_MS)
    assert ask(spy, 12, SMU, ":OUTP?") == "1"
    window.close()  # mid-run: the window asks first, and the run goes on meanwhile
    assert window.isVisible() and window.close_box.isVisible() and window.manager.is_running()
    assert ask(spy, 12, SMU, ":OUTP?") == "1"
    qtbot.mouseClick(window.close_no, QtCore.Qt.MouseButton.LeftButton)  # "Keep running"
    assert window.isVisible() and window.manager.is_running()
    window.close()
    qtbot.mouseClick(window.close_yes, QtCore.Qt.MouseButton.LeftButton)  # "Abort run and close"
    assert not window.isVisible()
    assert ask(spy, 12, SMU, ":OUTP?") == "0" and ask(spy, 12, AWG, "OUTP1?") == "0"
    assert window.session.bench.closed
    assert open_run(experiment.data_filename).status == "aborted"


def test_every_registered_procedure_gets_a_window_whose_inputs_keep_its_defaults(qtbot, open_window):
    """The input widgets must not round or clamp a default (a 20 ns width read back as 0 would be a
    different measurement); the plot opens on two of the procedure's columns; the window opens with
    the views the procedure declares (a dock each) and its parameters grouped, the rarely changed
    ones folded and the key parameters in view."""
    from tspcm_lab.gui.window import RunWindow

    window = open_window(SmuHold, seed=13)
    for name in plugins.names():
        cls = plugins.load_procedure(name)
        other = RunWindow(cls, window.session, close_bench=False, history=0)
        qtbot.addWidget(other)
        try:
            frame = other.plot_widget.plot_frame
            assert frame.x_axis in cls.DATA_COLUMNS and frame.y_axis in cls.DATA_COLUMNS, name
            assert [d.title() for d in other.views.docks] == [v["title"] for v in cls.VIEWS], name
            assert all(d.isVisibleTo(other) for d in other.views.docks), name
            sections = other.inputs.sections
            assert list(sections)[0] == "Measurement" and any(not s.is_open for s in sections.values()), name
            for key in cls.KEY_PARAMETERS:  # the parameters `tspcm runs` shows are never folded away
                assert other.inputs.section_of[key].is_open, (name, key)
            made, defaults = other.make_procedure(), cls()
            for key in defaults._parameters:
                expected, got = getattr(defaults, key), getattr(made, key)
                if isinstance(expected, float):
                    assert got == pytest.approx(expected, rel=1e-9, abs=0), (name, key)
                else:
                    assert got == expected, (name, key)
        finally:
            other.shut_down()  # outputs off only: the bench stays open (close_bench=False)
    assert not window.session.bench.closed
