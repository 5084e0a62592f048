"""What the window shows of the science, on the simulated bench: every procedure's own views, the
phases of a pulse train as separate series, the array map after every epoch, values typed with SI
prefixes (and refused ones marked, never changed), the analysis panel against ``tspcm analyze``,
the queue after an abort, the sequencer, the estimates.

Runs are started with the window's Queue button and awaited on the Manager's signals; the rows are
read back from the run files with the store's reader.
"""

import math

import numpy as np
import pandas as pd
import pytest
from pymeasure.display.Qt import QtCore

from tspcm_lab import cli, plugins
from tspcm_lab.gui.inputs import QuantityInput
from tspcm_lab.gui.views import MapView, XYView
from tspcm_lab.si import format_si
from tspcm_lab.store import open_run

from tests.helpers.gui_procedures import SmuHold
from tests.helpers.runs import make_run

RUN_TIMEOUT_MS = 120_000  # a deadline for a stuck run, not a speed requirement


def click(qtbot, button):
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def type_into(qtbot, field, text):
    field.clear()
    qtbot.keyClicks(field, text)


def run_to_end(qtbot, window):
    with qtbot.waitSignal(window.manager.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, window.queue_button)
    return blocker.args[0]


def curves(window, view: XYView, experiment):
    """The data items the view draws for a run: [(legend label, x, y)]."""
    run = next(c for c in experiment.curve_list if getattr(c, "wdg", None) is window.views)
    return [(item.series_label, np.asarray(item.xData), np.asarray(item.yData)) for item in view.data_items(run)]


def test_a_pulse_train_shows_its_two_phases_as_two_series_with_the_fit(qtbot, open_window):
    window = open_window(plugins.load_procedure("pulse-train"), seed=21)
    for key, text in (("cycles", "1"), ("potentiation_pulses", "12"), ("depression_pulses", "8")):
        type_into(qtbot, getattr(window.inputs, key), text)
    experiment = run_to_end(qtbot, window)
    view = window.views.views[0]
    qtbot.waitUntil(lambda: window.views.runs[-1].analysis is not None, timeout=RUN_TIMEOUT_MS)
    columns = open_run(experiment.data_filename).columns
    drawn = {
        label: (x, y) for label, x, y in curves(window, view, experiment) if label in ("potentiation", "depression")
    }
    assert set(drawn) == {"potentiation", "depression"}  # two series, not one line jumping back
    for phase, label in ((1, "potentiation"), (-1, "depression")):
        rows = columns["Phase"] == phase
        x, y = drawn[label]
        np.testing.assert_allclose(y, columns["Conductance (S)"][rows])
        assert np.all(np.diff(x) > 0)  # pulse count rising within the phase
    # depression follows potentiation along the pulse axis; no item joins the two
    assert drawn["depression"][0].min() > drawn["potentiation"][0].max()
    assert "NeuroSim fit" in [label.text for _, label in view.legend.items]
    assert "p_a_pulses" in view.caption.text() and "d_a_pulses" in view.caption.text()


def test_a_pattern_run_updates_the_array_map_after_every_epoch(qtbot, spy, tmp_path):
    from tspcm_lab.gui.window import RunWindow
    from tspcm_lab.runner import BenchSession

    session = BenchSession.open("sim-4x4", seed=22)
    window = RunWindow(plugins.load_procedure("pattern"), session, output_dir=tmp_path / "runs", history=0)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        type_into(qtbot, window.inputs.spike_amplitude_V, "1.8 V")  # no calibration: a short run
        type_into(qtbot, window.inputs.max_epochs, "3")
        frame = window.plot_widget.plot_frame  # "All columns": Epoch against Accuracy, no "(x0.001)" scale
        assert (frame.x_axis, frame.y_axis) == ("Epoch", "Accuracy")
        assert not frame.plot.getAxis("left").autoSIPrefix and not frame.plot.getAxis("bottom").autoSIPrefix
        view = next(v for v in window.views.views if isinstance(v, MapView))
        shown = []
        view.frame_shown.connect(lambda key: shown.append(tuple(int(k) for k in key)))
        experiment = run_to_end(qtbot, window)
        columns = open_run(experiment.data_filename).columns
        epochs = list(dict.fromkeys(zip(columns["Stage"].astype(int), columns["Epoch"].astype(int))))
        assert shown == epochs and len(epochs) >= 4  # every epoch of both trainings, in order
        last = (columns["Stage"] == epochs[-1][0]) & (columns["Epoch"] == epochs[-1][1])
        expected = np.full((4, 4), np.nan)
        expected[columns["Row"][last].astype(int), columns["Column"][last].astype(int)] = columns["Conductance (S)"][
            last
        ]
        np.testing.assert_allclose(view.shown_map, expected)

        # a click on a cell plots its history over every epoch
        point = view.map_plot.vb.mapViewToScene(QtCore.QPointF(2.5, 1.5))  # column 2, row 1
        widget_point = view.map_widget.mapFromScene(point)
        qtbot.mouseClick(view.map_widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point)
        assert view.selected == (1, 2)
        cell = (columns["Row"] == 1) & (columns["Column"] == 2)
        plotted = np.concatenate([np.asarray(i.yData) for i in view.history.listDataItems()])
        np.testing.assert_allclose(plotted, columns["Conductance (S)"][cell], rtol=1e-9)
    finally:
        window.shut_down()
        window.close()
        import logging

        logging.getLogger().removeHandler(window.log_widget.handler)


def test_values_are_typed_with_si_prefixes_and_refused_text_is_marked_not_changed(qtbot, open_window, spy):
    window = open_window(plugins.load_procedure("iv-sweep"), seed=23)
    stop, compliance, cycles = window.inputs.stop_voltage_V, window.inputs.compliance_A, window.inputs.cycles
    assert isinstance(stop, QuantityInput) and compliance.text() == "10 µA"  # shown with its prefix

    type_into(qtbot, stop, "1500 mV")
    type_into(qtbot, compliance, "20 uA")
    assert stop.value() == pytest.approx(1.5) and compliance.value() == pytest.approx(20e-6)
    assert not stop.error and not stop.property("invalid")
    procedure = window.make_procedure()
    assert (procedure.stop_voltage_V, procedure.compliance_A) == (pytest.approx(1.5), pytest.approx(20e-6))

    type_into(qtbot, stop, "25")  # above the 20 V the parameter allows
    type_into(qtbot, cycles, "20000")  # above 10000
    for field, text, words in ((stop, "25", "20 V"), (cycles, "20000", "10000")):
        assert field.text() == text  # kept exactly as typed
        assert field.property("invalid") is True and words in field.error
        assert window.inputs.errors[field.key].isVisibleTo(window) and words in window.inputs.errors[field.key].text()
    before = len(spy["seed=23"]["GPIB0::18::INSTR"])
    click(qtbot, window.queue_button)
    assert "stop_voltage_V" in window.refusal_text and "out of range" in window.refusal_text
    assert len(window.manager.experiments.queue) == 0
    assert len(spy["seed=23"]["GPIB0::18::INSTR"]) == before  # nothing sent to the SMU
    type_into(qtbot, stop, "2.5 V")
    assert not stop.property("invalid") and stop.value() == pytest.approx(2.5)
    # a refused value in a folded group opens the group, so that the mark is seen
    section = window.inputs.section_of["min_jump_decades"]
    assert not section.is_open
    type_into(qtbot, window.inputs.min_jump_decades, "50")
    assert section.is_open


def test_the_analysis_panel_shows_the_vth_that_tspcm_analyze_finds(qtbot, open_window, tmp_path, capsys):
    window = open_window(plugins.load_procedure("iv-sweep"), seed=24)
    type_into(qtbot, window.inputs.cycles, "3")
    with qtbot.waitSignal(window.analysis_panel.updated, timeout=RUN_TIMEOUT_MS):
        experiment = run_to_end(qtbot, window)
    value, text = window.analysis_panel.shown_value("vth_mean_V")
    summary = tmp_path / "summary.csv"
    assert (
        cli.main(
            ["analyze", experiment.data_filename, "--summary", str(summary), "--workers", "1", "--quiet", "--no-write"]
        )
        == 0
    )
    capsys.readouterr()
    table = pd.read_csv(summary)
    expected = float(table.loc[table["feature"] == "vth_mean_V", "value"].iloc[0])
    assert 1.0 < expected < 2.5
    assert value == expected and text == format_si(expected, "V")
    # the I-V view marks Vth of every cycle from the run's own rows, and reads the last one out
    marks = open_run(experiment.data_filename).columns["Cycle Vth (V)"]
    assert format_si(marks[-1], "V") in window.views.views[0].caption.text()


def test_after_an_abort_waiting_runs_are_held_with_a_resume_button_that_says_so(qtbot, open_window, spy):
    window = open_window(SmuHold, seed=25)
    type_into(qtbot, window.inputs.points, "2")
    window.inputs.hold.setChecked(True)
    click(qtbot, window.queue_button)
    first = window.manager.experiments[0]
    qtbot.waitUntil(lambda: len(first.results.data) == 2, timeout=RUN_TIMEOUT_MS)
    window.inputs.hold.setChecked(False)
    click(qtbot, window.queue_button)  # waits behind the running one
    with qtbot.waitSignal(window.manager.abort_returned, timeout=RUN_TIMEOUT_MS):
        click(qtbot, window.abort_button)
    assert window.paused and window.abort_button.text() == "Resume (1 waiting)"
    assert "paused" in window.statusBar().currentMessage() and "Resume" in window.statusBar().currentMessage()
    second = window.manager.experiments[1]
    assert not window.manager.is_running()
    with qtbot.waitSignal(window.manager.finished, timeout=RUN_TIMEOUT_MS):
        click(qtbot, window.abort_button)  # Resume
    assert open_run(second.data_filename).status == "completed"
    assert window.abort_button.text() == "Abort" and not window.abort_button.isEnabled()


def test_the_sequencer_in_the_window_queues_one_checked_run_per_point(qtbot, open_window, tmp_path):
    window = open_window(SmuHold, seed=26)
    sequence = tmp_path / "points.txt"
    sequence.write_text('- "Points", "[2, 3]"\n')
    window.sequencer.load_sequence(filename=str(sequence))
    finished = []
    window.manager.finished.connect(finished.append)
    click(qtbot, window.sequencer.queue_button)
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=RUN_TIMEOUT_MS)
    assert sorted(open_run(e.data_filename).n_rows for e in finished) == [2, 3]

    sequence.write_text('- "Points", "[2, 20000]"\n')  # a point out of range: nothing is queued
    window.sequencer.tree.model().load(open(sequence), append=False)
    click(qtbot, window.sequencer.queue_button)
    assert "sequence point 2" in window.refusal_text and "points" in window.refusal_text
    assert len(window.manager.experiments.queue) == 2


def test_estimates_follow_the_parameters_typed(qtbot, open_window):
    window = open_window(plugins.load_procedure("iv-sweep"), seed=27)
    type_into(qtbot, window.inputs.cycles, "4")
    qtbot.waitUntil(lambda: "4 cycles x 501 = 2004" in window.estimates.text(), timeout=5000)
    type_into(qtbot, window.inputs.cycles, "-3")
    qtbot.waitUntil(
        lambda: "cycles" in window.estimates.text() and "out of range" in window.estimates.text(), timeout=5000
    )
    assert not math.isnan(window.views.views[0].plot.plot_item.vb.viewRange()[0][0])


def test_a_run_analysed_by_tspcm_analyze_shows_its_stored_analysis_in_the_preview_and_panel(
    qtbot, open_window, tmp_path, capsys
):
    from tspcm_lab.gui.dialogs import RunFileDialog

    path = make_run(tmp_path / "iv.h5", plugins.load_procedure("iv-sweep"), 28, {"cycles": 2})
    assert cli.main(["analyze", str(path), "--workers", "1", "--quiet"]) == 0  # writes /analysis back
    capsys.readouterr()
    stored = open_run(path).analysis["iv-sweep"]["values"]["vth_mean_V"]
    window = open_window(plugins.load_procedure("iv-sweep"), seed=29)
    dialog = RunFileDialog(window.procedure_class, widget_list=window.widget_list, parent=window)
    dialog.update_preview(str(path))
    rows = {
        dialog.preview_metadata.topLevelItem(i).text(0): dialog.preview_metadata.topLevelItem(i).text(1)
        for i in range(dialog.preview_metadata.topLevelItemCount())
    }
    dialog.close()
    assert rows["analysis: vth_mean_V"] == format_si(stored, "V") and "stored" in rows["Analysis"]
    (experiment,) = window.open_runs([str(path)])
    with qtbot.waitSignal(window.analysis_panel.updated, timeout=RUN_TIMEOUT_MS):
        window.browser.setCurrentItem(experiment.browser_item)
    assert window.analysis_panel.result.source == "stored"
    assert window.analysis_panel.shown_value("vth_mean_V") == (stored, format_si(stored, "V"))


def test_every_declared_view_and_group_names_the_procedures_own_columns_and_parameters():
    """A renamed column or parameter makes a view drop silently in the window; this says which."""
    from tspcm_lab.gui.viewspec import as_list

    for name in plugins.names():
        cls = plugins.load_procedure(name)
        columns, keys = set(cls.DATA_COLUMNS), set(cls().parameter_objects())
        for view in cls.VIEWS:
            named = [
                view.get("x"),
                view.get("color_by"),
                view.get("events"),
                view.get("row"),
                view.get("column"),
                view.get("value"),
                *as_list(view.get("y")),
                *as_list(view.get("series")),
                *as_list(view.get("frame")),
                *([] if view.get("marks") == "auto" else as_list(view.get("marks"))),
            ]
            assert {c for c in named if c} <= columns, (name, view["title"])
            params = [view.get("threshold_parameter"), view.get("target_parameter"), *as_list(view.get("hlines"))]
            assert {p for p in params if p} <= keys, (name, view["title"])
        for klass in cls.__mro__:
            for title, members, _folded in vars(klass).get("PARAMETER_GROUPS", ()):
                assert members == "*" or set(members) <= keys, (name, klass.__name__, title)
