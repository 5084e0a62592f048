"""The measurement window: PyMeasure's ManagedWindowBase on one open bench, writing HDF5 run files.

    session = BenchSession.open("sim", seed=42)
    window = RunWindow(IVSweepProcedure, session, output_dir="runs")
    window.show()              # Queue runs the procedure; Abort stops it; closing shuts the bench down

What differs from a stock ``ManagedWindow`` (see docs/gui.md for the whole window):

- **The procedure's own views** (:mod:`tspcm_lab.gui.views`, declared as plain data in ``VIEWS``), an
  **analysis panel** (:mod:`tspcm_lab.gui.analysis`, the extractors of ``tspcm analyze``), grouped
  parameters typed with SI prefixes (:mod:`tspcm_lab.gui.inputs`), the sequencer and the estimates in
  the left dock; the window sizes itself to the screen.
- **Queue states**: after an abort with nothing waiting the window is idle again; waiting runs are held
  with a "Resume (n waiting)" button. Closing mid-run asks first.

- **One bench for the whole session**, opened before the window; every queued procedure gets it as
  ``procedure.bench``. Closing the window aborts a running procedure, waits for its shutdown and
  closes the bench (every output off, connections closed).
- **Validation before queueing**: ``procedure.validate()`` (ranges, rules between parameters, the
  bench file's limits) runs when Queue is pressed; a refused value is reported in a message box, the
  status bar and the log, naming the parameter and what is allowed, and nothing is queued or enabled.
- **Run files**: each run streams into ``<run folder>/<time>_<procedure>.h5`` (the store's HDF5
  format, see docs/file-format.md) with the bench snapshot, the seed and the title; the browser shows
  each run with the final status read back from its file (completed, aborted, failed).
- **Live plot** of any two emitted columns (the rows come from memory while the file is being written,
  see :mod:`tspcm_lab.gui.live`).
- **Reopening runs** (Open button, or earlier runs of the run folder listed at start): the run's curves
  join the plot and the parameter inputs take the run's values, ready to queue again.
"""

from __future__ import annotations

import html
import logging
import os
import re
import time
from collections import ChainMap
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from pymeasure.display.browser import BrowserItem
from pymeasure.display.manager import Experiment
from pymeasure.display.Qt import QtCore, QtWidgets
from pymeasure.display.widgets import BrowserWidget, LogWidget, PlotWidget, SequencerWidget
from pymeasure.display.windows.managed_window import ManagedWindowBase
from pymeasure.experiment import Procedure
from pymeasure.experiment.sequencer import SequenceEvaluationError

from tspcm_lab import runner
from tspcm_lab.gui.analysis import AnalysisPanel
from tspcm_lab.gui.dialogs import RunFileDialog
from tspcm_lab.gui.inputs import InputsPanel
from tspcm_lab.gui.live import LiveResults
from tspcm_lab.gui.manager import RunManager
from tspcm_lab.gui.views import ViewsWidget
from tspcm_lab.si import format_parameter, format_si

log = logging.getLogger(__name__)

#: the plot's initial axes per procedure (a procedure class may set ``PLOT_AXES = (x, y)`` instead)
DEFAULT_AXES: dict[str, tuple[str, str]] = {
    "iv-sweep": ("Voltage (V)", "Current (A)"),
    "pulse-train": ("Pulse", "Conductance (S)"),
    "spike-train": ("Conductance (S)", "Firing probability"),
    "threshold-vs-weight": ("Conductance (S)", "Threshold (V)"),
    "learning-loop": ("Train", "Firing probability"),
    "pattern": ("Epoch", "Accuracy"),
    "retention": ("Time (s)", "Conductance (S)"),
    "endurance": ("Cycle", "Conductance (S)"),
    "delay-recovery": ("Voltage (V)", "Delay (s)"),
}
#: earlier runs of the run folder listed in the browser at start (hidden from the plot until ticked)
DEFAULT_HISTORY = 10


def procedure_name(procedure_class: type) -> str:
    return getattr(procedure_class, "name", "") or procedure_class.__name__


def default_axes(procedure_class: type) -> tuple[str, str]:
    """(x, y) columns plotted first: ``PLOT_AXES`` of the class, our table, else time (or the first
    column) against the next column."""
    columns = list(procedure_class.DATA_COLUMNS)
    for axes in (getattr(procedure_class, "PLOT_AXES", None), DEFAULT_AXES.get(procedure_name(procedure_class))):
        if axes and len(axes) == 2 and all(a in columns for a in axes):
            return axes[0], axes[1]
    x = "Time (s)" if "Time (s)" in columns else columns[0]
    y = next(c for c in columns if c != x)
    return x, y


def parameter_keys(procedure_class: type) -> list[str]:
    """Parameter keys in the order the class declares them."""
    from tspcm_lab.store.params import from_procedure

    return [record.key for record in from_procedure(procedure_class())]


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min 20 s", "2 h 05 min"."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class RunSequencer(SequencerWidget):
    """PyMeasure's sequencer in the window. Each point's values are converted and range-checked as
    typed values are (a refused point is named, nothing of the sequence is queued), then queued
    through the window's Queue (validation against the bench, its own run file)."""

    def queue_sequence(self):
        self.queue_button.setEnabled(False)
        try:
            try:
                sequence = self.get_sequence()
            except SequenceEvaluationError as exc:
                self._parent.refuse(f"sequence: {exc}")
                return
            procedures = []
            for n, entry in enumerate(sequence, start=1):
                values = dict(ChainMap(*entry[::-1]))
                try:
                    procedure = self._parent.make_procedure()
                    runner.apply_values(
                        procedure, {k: v.item() if hasattr(v, "item") else v for k, v in values.items()}
                    )
                except ValueError as exc:
                    self._parent.refuse(f"sequence point {n}: {runner.parameter_error_text(exc)}")
                    return
                procedures.append(procedure)
            log.info("queueing %d runs of the sequence", len(procedures))
            for procedure in procedures:
                QtWidgets.QApplication.processEvents()
                if self._parent.queue(procedure=procedure) is None:
                    break
        finally:
            self.queue_button.setEnabled(True)


class RunBrowserItem(BrowserItem):
    """A browser row; "Finished" reads "Completed", the final status comes from the run file, and the
    key parameters read with SI prefixes ("30 µS", not "3e-05 S")."""

    status_label = {**BrowserItem.status_label, Procedure.FINISHED: "Completed"}

    def __init__(self, results, color, displays=(), parent=None):
        objects = results.procedure.parameter_objects()
        self._shown = [
            format_parameter(objects[k].value, getattr(objects[k], "units", None) or "") if k in objects else None
            for k in displays
        ]
        super().__init__(results, color, parent)

    def setText(self, column, text):  # noqa: N802 - Qt's spelling
        index = column - 4  # PyMeasure's browser fills the key parameters from column 4 on
        if 0 <= index < len(self._shown) and self._shown[index] is not None:
            text = self._shown[index]
        super().setText(column, text)

    def set_file_status(self, status: str) -> None:
        self.setText(3, status.capitalize())


class RunWindow(ManagedWindowBase):
    """The GUI of one procedure on one open bench (see the module docstring).

    :param procedure_class: a PyMeasure Procedure class (normally a ``TspcmProcedure``)
    :param session: the open bench (``tspcm_lab.runner.BenchSession``), shared by every run
    :param output_dir: folder of the run files (created when the first run is queued)
    :param title: initial title stored in each run file (editable in the window)
    :param history: how many earlier runs of this procedure in ``output_dir`` to list at start
    :param close_bench: closing the window closes the bench (every output off first); when False,
        the outputs are turned off but the connections stay open (the caller owns the bench)
    """

    def __init__(
        self,
        procedure_class: type,
        session: runner.BenchSession,
        output_dir: str | os.PathLike = "runs",
        *,
        title: str = "",
        history: int = DEFAULT_HISTORY,
        close_bench: bool = True,
        parent=None,
    ):
        self.session = session
        self.close_bench = close_bench
        self.name = procedure_name(procedure_class)
        self._reserved: set[str] = set()
        self._shut_down = False
        self._output_dir = str(output_dir)
        self._initial_title = title
        self.refusal_text = ""  #: the last refusal shown (for the user: message box, status bar, log)
        self.refusal_box: QtWidgets.QMessageBox | None = None
        self.close_box: QtWidgets.QMessageBox | None = None
        self._root_level = logging.getLogger().level
        self._run_started: dict[int, float] = {}
        if len(procedure_class.DATA_COLUMNS) < 2:
            raise ValueError(f"{self.name} declares fewer than two DATA_COLUMNS; nothing to plot")
        self.x_axis, self.y_axis = default_axes(procedure_class)
        self.log_widget = LogWidget("Experiment Log", fmt="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
        self.views = ViewsWidget(procedure_class, "Views")
        self.plot_widget = PlotWidget("All columns", procedure_class.DATA_COLUMNS, self.x_axis, self.y_axis)
        self.plot_widget.setMinimumSize(100, 150)
        for signal in (self.plot_widget.plot_frame.x_axis_changed, self.plot_widget.plot_frame.y_axis_changed):
            signal.connect(self._plain_unitless_axes)
        for label in (self.plot_widget.columns_x_label, self.plot_widget.columns_y_label):
            label.setMaximumWidth(60)
        displays = [k for k in getattr(procedure_class, "KEY_PARAMETERS", ()) if hasattr(procedure_class, k)]
        super().__init__(
            procedure_class,
            widget_list=(self.views, self.plot_widget, self.log_widget),
            inputs=parameter_keys(procedure_class),
            displays=displays,
            enable_file_input=False,
            inputs_in_scrollarea=True,
            parent=parent,
        )
        self.browser_widget.browser.measured_quantities.update([self.x_axis, self.y_axis])
        self._plain_unitless_axes()
        logging.getLogger().addHandler(self.log_widget.handler)
        self.browser.header().resizeSection(1, 230)  # run file names are <time>_<procedure>.h5
        self.setWindowTitle(f"tspcm gui - {self.name} on {self.bench_text()}")
        self.statusBar().showMessage(f"bench open: {self.bench_text()}; outputs off")
        self.fit_to_screen()
        if history > 0:
            self.load_history(history)

    def _plain_unitless_axes(self, _column: str = "") -> None:
        """A column without a unit ("Accuracy", "Cycle") is not scaled to "(x0.001)" in "All columns"."""
        from tspcm_lab.gui.viewspec import column_units

        frame = self.plot_widget.plot_frame
        for side, column in (("bottom", frame.x_axis), ("left", frame.y_axis)):
            frame.plot.getAxis(side).enableAutoSIPrefix(bool(column_units(column)))

    # ------------------------------------------------------------------ layout
    def _setup_ui(self):
        self.queue_button = QtWidgets.QPushButton("Queue", self)
        self.queue_button.setToolTip("Check the parameters and run (or queue behind the running run)")
        self.queue_button.clicked.connect(self._queue)
        self.abort_button = QtWidgets.QPushButton("Abort", self)
        self.abort_button.setEnabled(False)
        self.abort_button.clicked.connect(self.abort)
        self.browser_widget = BrowserWidget(self.procedure_class, self.displays, [], parent=self)
        self.browser_widget.show_button.clicked.connect(self.show_experiments)
        self.browser_widget.hide_button.clicked.connect(self.hide_experiments)
        self.browser_widget.clear_button.clicked.connect(self.clear_experiments)
        self.browser_widget.open_button.clicked.connect(self.open_experiment)
        self.browser = self.browser_widget.browser
        self.browser.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.browser.customContextMenuRequested.connect(self.browser_item_menu)
        self.browser.itemChanged.connect(self.browser_item_changed)
        self.browser.itemSelectionChanged.connect(self._selection_changed)
        self.inputs = InputsPanel(self.procedure_class, list(self.inputs), parent=self)
        self.inputs.changed.connect(self._schedule_estimates)
        self.manager = RunManager(self.widget_list, self.browser, log_level=self.log_level, parent=self)
        self.manager.abort_returned.connect(self.abort_returned)
        self.manager.queued.connect(self.queued)
        self.manager.running.connect(self.running)
        self.manager.finished.connect(self.finished)
        self.manager.failed.connect(self.failed)
        self.manager.log.connect(self.log.handle)
        self.sequencer = RunSequencer(list(self.inputs._inputs), parent=self)
        self.analysis_panel = AnalysisPanel(self)
        self.analysis_panel.updated.connect(self.views.set_analysis)
        self.estimates = QtWidgets.QLabel(self)
        self.estimates.setWordWrap(True)
        self.estimates.setStyleSheet("color: #303030;")
        self._estimate_timer = QtCore.QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.timeout.connect(self.update_estimates)
        self._progress_timer = QtCore.QTimer(self)
        self._progress_timer.timeout.connect(self._show_progress)
        self._progress_timer.start(1000)

    def _layout(self):
        # left: run file, parameters | sequence, estimates, Queue / Abort
        left = QtWidgets.QWidget(self)
        column = QtWidgets.QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self._run_file_panel(left))
        self.left_tabs = QtWidgets.QTabWidget(left)
        scroll = QtWidgets.QScrollArea(self.left_tabs)
        scroll.setWidgetResizable(True)
        scroll.setFrameStyle(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.inputs)
        self.left_tabs.addTab(scroll, "Parameters")
        self.left_tabs.addTab(self.sequencer, "Sequence")
        column.addWidget(self.left_tabs, 1)
        column.addWidget(self.estimates)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.queue_button)
        buttons.addWidget(self.abort_button)
        column.addLayout(buttons)
        dock = QtWidgets.QDockWidget("Measurement", self)
        dock.setObjectName("measurement-dock")
        dock.setWidget(left)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        left.setMinimumWidth(290)
        left.setMaximumWidth(400)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [330], QtCore.Qt.Orientation.Horizontal)
        # centre: the views (and any two columns, the log) above; the runs and their analysis below
        self.tabs = QtWidgets.QTabWidget(self)
        for widget in self.widget_list:
            self.tabs.addTab(widget, widget.name)
        # the log tab blinks on warnings; tell it its tab now (PyMeasure guesses it at the first record)
        self.log_widget.tab_widget = self.tabs
        self.log_widget.tab_index = self.tabs.indexOf(self.log_widget)
        self.tabs.tabBar().setIconSize(QtCore.QSize(12, 12))
        self.tabs.tabBar().currentChanged.connect(self.log_widget._blinking_stop)
        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal, self)
        bottom.addWidget(self.browser_widget)
        bottom.addWidget(self.analysis_panel)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tabs)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 260])
        bottom.setSizes([620, 420])
        splitter.setChildrenCollapsible(False)
        self.main = splitter
        self.setCentralWidget(splitter)
        self.browser_widget.setMinimumHeight(120)
        self.update_estimates()

    def fit_to_screen(self) -> None:
        """Size to the screen: 90 % of its free area up to 1600 x 1000 (all of it fits 1366 x 768)."""
        self.setMinimumSize(800, 560)
        screen = self.screen() or QtWidgets.QApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1366, 768)
        width = min(1600, max(800, int(free.width() * 0.95)))
        height = min(1000, max(560, int(free.height() * 0.92)))
        self.resize(width, height)

    def _run_file_panel(self, parent) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget(parent)
        form = QtWidgets.QFormLayout(panel)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.bench_label = QtWidgets.QLabel(self.bench_text(), panel)
        self.bench_label.setWordWrap(True)
        self.folder_input = QtWidgets.QLineEdit(self._output_dir, panel)
        self.folder_input.setToolTip("Folder of the run files; each run is <time>_<procedure>.h5")
        browse = QtWidgets.QPushButton("...", panel)
        browse.setMaximumWidth(30)
        browse.setToolTip("Choose the run folder")
        browse.clicked.connect(self._browse_folder)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder_input)
        folder_row.addWidget(browse)
        self.title_input = QtWidgets.QLineEdit(self._initial_title, panel)
        self.title_input.setPlaceholderText(f"stored in the run file (default: {self.name})")
        form.addRow("Bench:", self.bench_label)
        form.addRow("Run folder:", folder_row)
        form.addRow("Title:", self.title_input)
        return panel

    def _browse_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder", str(self.output_dir))
        if folder:
            self.folder_input.setText(folder)

    def bench_text(self) -> str:
        s = self.session
        seed = f", seed {s.seed}" if s.seed is not None else ""
        kind = f" (simulated{seed})" if s.simulated else seed
        return f"{s.name}{kind}"

    @property
    def output_dir(self) -> Path:
        return Path(self.folder_input.text().strip() or "runs").expanduser()

    @property
    def run_title(self) -> str:
        return self.title_input.text().strip() or self.name

    def make_procedure(self):
        return self.inputs.get_procedure()

    def set_parameters(self, parameters):
        self.inputs.set_parameters(parameters)

    # ------------------------------------------------------------------ estimates and progress
    def _schedule_estimates(self) -> None:
        self._estimate_timer.start(300)

    def update_estimates(self) -> None:
        """The procedure's ``get_estimates()`` for the values typed (a refused value says so)."""
        if self.procedure_class.get_estimates is Procedure.get_estimates:
            self.estimates.setText("")
            return
        try:
            procedure = self.make_procedure()
            estimates = procedure.get_estimates()
        except ValueError as exc:
            self.estimates.setText(
                f"<span style='color:#b00000'>{html.escape(runner.parameter_error_text(exc))}</span>"
            )
            return
        except Exception as exc:  # noqa: BLE001 - an estimate must never break the window
            self.estimates.setText(f"no estimate: {html.escape(str(exc))}")
            return
        if isinstance(estimates, (int, float)):
            estimates = [("Duration", format_si(float(estimates), "s", 3))]
        self.estimates.setText(
            "<br>".join(f"<b>{html.escape(str(k))}:</b> {html.escape(str(v))}" for k, v in estimates)
        )

    def _show_progress(self) -> None:
        """Status bar while a run goes: its progress, time so far and (from the progress rate) left."""
        if not self.manager.is_running():
            return
        experiment = self.manager.running_experiment()
        started = self._run_started.setdefault(id(experiment), time.monotonic())
        elapsed = time.monotonic() - started
        percent = experiment.browser_item.progressbar.value()
        left = ""
        if 0 < percent < 100 and elapsed > 2:
            left = f", about {format_duration(elapsed * (100 - percent) / percent)} left"
        waiting = self.waiting_runs()
        more = f"; {waiting} more queued" if waiting else ""
        self.statusBar().showMessage(
            f"running {os.path.basename(experiment.data_filename)}: {percent} %, "
            f"{format_duration(elapsed)} so far{left}{more}"
        )

    def waiting_runs(self) -> int:
        return sum(1 for e in self.manager.experiments if e.procedure.status == Procedure.QUEUED)

    # ------------------------------------------------------------------ queueing
    def queue(self, procedure=None):
        """Validate the input parameters against the procedure's ranges and the bench, then queue
        the run; a refused value is reported (message box, status bar, log) and nothing is queued.
        Returns the queued Experiment, or None when refused."""
        if self._shut_down:
            return None
        try:
            if procedure is None:
                procedure = self.make_procedure()
        except (ValueError, TypeError) as exc:
            if runner.is_parameter_error(exc):
                return self.refuse(runner.parameter_error_text(exc))
            return self.refuse(f"cannot read the parameters: {exc}")
        procedure.bench = self.session.bench
        try:
            runner.validate(procedure)
        except Exception as exc:  # noqa: BLE001 - every refusal is shown, none reaches the event loop
            if runner.is_parameter_error(exc):
                return self.refuse(runner.parameter_error_text(exc))
            return self.refuse(f"{self.name}: validate() failed: {type(exc).__name__}: {exc}")
        try:
            path = self.next_run_path()
        except OSError as exc:
            return self.refuse(f"run folder {self.output_dir}: {exc}")
        results = LiveResults(
            procedure, path, snapshot=self.session.snapshot, seed=self.session.seed, title=self.run_title
        )
        experiment = self.new_experiment(results)
        self.manager.queue(experiment)
        log.info("queued %s -> %s", self.name, path)
        if self.paused:
            self.statusBar().showMessage(
                f"queued {path.name}; the queue is paused after an abort: Resume runs "
                f"the {self.waiting_runs()} waiting run(s)"
            )
        else:
            self.statusBar().showMessage(f"queued {path.name}")
        return experiment

    def next_run_path(self) -> Path:
        """A new run file name in the run folder: ``<time>_<name>.h5`` (``-2``, ``-3``... when taken
        by a file or by a run queued earlier in this window)."""
        folder = self.output_dir
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", self.name)
        stem = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}_{safe}"
        path = folder / f"{stem}.h5"
        n = 2
        while path.exists() or str(path.resolve()) in self._reserved:
            path = folder / f"{stem}-{n}.h5"
            n += 1
        self._reserved.add(str(path.resolve()))
        return path

    def refuse(self, message: str) -> None:
        """Tell the user why nothing was queued: a (non-blocking) message box, the status bar, the log."""
        self.refusal_text = message
        log.error("not queued: %s", message)
        self.statusBar().showMessage(f"not queued: {message}")
        if self.refusal_box is not None:
            self.refusal_box.close()
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning,
            "Not queued",
            f"Nothing was queued or enabled.\n\n{message}",
            QtWidgets.QMessageBox.StandardButton.Ok,
            self,
        )
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()
        self.refusal_box = box
        return None

    # ------------------------------------------------------------------ browser
    def new_experiment(self, results, curve=None):
        if curve is None:
            curve_list = []
            for wdg in self.widget_list:
                new = self.new_curve(wdg, results)
                curve_list.extend(new if isinstance(new, (tuple, list)) else [new])
        else:
            curve_list = curve[:]
        color = next((c.color for c in curve_list if hasattr(c, "color")), pg.intColor(0))
        return Experiment(results, curve_list, RunBrowserItem(results, color, self.displays))

    def running_files(self) -> set[str]:
        """Run files this window is writing now (never to be opened here until closed)."""
        files = set()
        for experiment in self.manager.experiments:
            if getattr(experiment.results, "live", False):
                files.add(os.path.abspath(experiment.data_filename))
        return files

    def open_experiment(self):
        """The Open button: choose run files (with a preview) and open them."""
        dialog = RunFileDialog(
            self.procedure_class,
            widget_list=self.widget_list,
            parent=self,
            directory=self.output_dir if self.output_dir.is_dir() else "",
            busy=self.running_files(),
        )
        if dialog.exec():
            self.open_runs(dialog.selectedFiles())

    def open_runs(
        self, paths: Iterable[str | os.PathLike], *, use_parameters: bool = True, show: bool = True
    ) -> list[Experiment]:
        """Open run files into the browser (their curves on the plot when ``show``); with
        ``use_parameters`` the parameter inputs take the values of the last one opened. Files that
        are not runs of this procedure are refused with a message naming why."""
        from tspcm_lab.store import open_run
        from tspcm_lab.store.errors import RunFileError
        from tspcm_lab.store.pymeasure_glue import HDF5Results

        opened: list[Experiment] = []
        problems: list[str] = []
        busy = self.running_files()
        for path in map(str, paths):
            if not path:
                continue
            if os.path.abspath(path) in busy:
                problems.append(f"{os.path.basename(path)} is being written by the run in progress")
                continue
            if any(os.path.abspath(e.data_filename) == os.path.abspath(path) for e in self.manager.experiments):
                problems.append(f"{os.path.basename(path)} is already open")
                continue
            try:
                run = open_run(path)
                stored, stored_class = run.procedure, run.procedure_class
                cls = self.procedure_class
                if stored != self.name and stored_class != f"{cls.__module__}:{cls.__qualname__}":
                    problems.append(
                        f"{os.path.basename(path)} is a {stored or 'different'} run; this window "
                        f"runs {self.name} (open it with: tspcm gui {stored or '<procedure>'})"
                    )
                    continue
                results = HDF5Results.load(path, procedure_class=cls)
            except (RunFileError, OSError) as exc:
                problems.append(str(exc))
                continue
            experiment = self.new_experiment(results)
            for curve in experiment.curve_list:
                if curve:
                    curve.update_data()
            experiment.browser_item.progressbar.setValue(100)
            self.manager.load(experiment)
            self._show_file_status(experiment)
            if not show:
                experiment.browser_item.setCheckState(0, QtCore.Qt.CheckState.Unchecked)
            opened.append(experiment)
            log.info("opened run %s", path)
        if opened and use_parameters:
            self.set_parameters(opened[-1].procedure.parameter_objects())
            self.statusBar().showMessage(
                f"parameters of {os.path.basename(opened[-1].data_filename)} loaded; Queue runs them again"
            )
        if problems:
            text = "\n".join(problems)
            log.warning("not opened: %s", text.replace("\n", "; "))
            QtWidgets.QMessageBox(
                QtWidgets.QMessageBox.Icon.Warning, "Not opened", text, QtWidgets.QMessageBox.StandardButton.Ok, self
            ).open()
        return opened

    def save_experiment_copy(self, source_filename):
        """The browser's "Save Data File Copy": a copy of the run file (PyMeasure's dialog suggests .csv)."""
        import shutil

        if os.path.abspath(source_filename) in self.running_files():
            self.statusBar().showMessage("the run file is still being written; copy it when the run has ended")
            return
        filename, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save a copy of the run file", os.path.basename(source_filename), "Run files (*.h5 *.hdf5)"
        )
        if filename:
            if not filename.lower().endswith((".h5", ".hdf5")):
                filename += ".h5"
            shutil.copy2(source_filename, filename)
            log.info("copied %s to %s", source_filename, filename)

    def load_history(self, limit: int = DEFAULT_HISTORY) -> list[Experiment]:
        """List the latest ``limit`` runs of this procedure in the run folder (unticked: not plotted)."""
        from tspcm_lab.store import list_runs

        folder = self.output_dir
        if limit <= 0 or not folder.is_dir():
            return []
        try:
            table = list_runs(folder)
        except Exception as exc:  # noqa: BLE001 - a listing problem must not stop the window
            log.warning("cannot list the runs in %s: %s", folder, exc)
            return []
        mine = table[table["procedure"] == self.name]
        paths = list(mine["path"])[-limit:]
        return self.open_runs(paths, use_parameters=False, show=False) if paths else []

    def _show_file_status(self, experiment) -> str:
        """The status written in the run file, shown in the browser row."""
        from tspcm_lab.store import open_run

        try:
            status = open_run(experiment.data_filename).status
        except Exception as exc:  # noqa: BLE001 - e.g. a file that could not be created
            log.debug("status of %s: %s", experiment.data_filename, exc)
            return ""
        item = experiment.browser_item
        if isinstance(item, RunBrowserItem):
            item.set_file_status(status)
        return status

    # ------------------------------------------------------------------ selection
    def _selection_changed(self) -> None:
        items = self.browser.selectedItems()
        experiment = self.manager.experiments.with_browser_item(items[-1]) if items else None
        if experiment is None:
            return
        self.views.select(experiment.results)
        self.analysis_panel.show_run(experiment.results)

    # ------------------------------------------------------------------ queue states: running, abort, resume
    @property
    def paused(self) -> bool:
        """The queue is held after an abort (queued runs wait for Resume)."""
        return not self.manager._start_on_add

    def queued(self, experiment):
        self.browser_widget.show_button.setEnabled(True)
        self.browser_widget.hide_button.setEnabled(True)
        self.browser_widget.clear_button.setEnabled(True)
        self._buttons()

    def running(self, experiment):
        self.browser_widget.clear_button.setEnabled(False)
        self._run_started[id(experiment)] = time.monotonic()
        self.views.select(experiment.results)
        self._buttons()

    def abort(self):
        """Abort the running procedure (it stops at its next check; its shutdown turns every output
        off). Queued runs then wait: Resume runs them."""
        if not self.manager.is_running():
            return self.resume()
        self.abort_button.setEnabled(False)
        try:
            self.manager.abort()
        except Exception:  # noqa: BLE001 - e.g. the run ended just now
            log.error("failed to abort the run", exc_info=True)
        self.statusBar().showMessage("aborting: the procedure stops at its next check, then every output is turned off")

    def resume(self):
        """Run the queued runs held after an abort."""
        self.manager.resume()
        self._buttons()

    def _buttons(self) -> None:
        """Abort while a run goes; "Resume (n waiting)" while runs are held after an abort."""
        waiting = self.waiting_runs()
        if self.manager.is_running():
            self.abort_button.setText("Abort")
            self.abort_button.setEnabled(True)
            self.abort_button.setToolTip("Stop the running procedure; every output is turned off")
        elif self.paused and waiting:
            self.abort_button.setText(f"Resume ({waiting} waiting)")
            self.abort_button.setEnabled(True)
            self.abort_button.setToolTip("The queue is paused after an abort: run the waiting runs")
        else:
            self.abort_button.setText("Abort")
            self.abort_button.setEnabled(False)
            self.abort_button.setToolTip("")

    # ------------------------------------------------------------------ run ends
    def finished(self, experiment):
        self.browser_widget.clear_button.setEnabled(True)
        self._ended(experiment)

    def abort_returned(self, experiment):
        self.browser_widget.clear_button.setEnabled(True)
        waiting = self.waiting_runs()
        if not waiting:  # nothing held: back to the idle state, the next Queue runs at once
            self.manager._start_on_add = True
            self.manager._is_continuous = True
        self._ended(experiment)
        if waiting:
            text = (
                f"{os.path.basename(experiment.data_filename)}: aborted; every output off. The queue is "
                f"paused: {waiting} run(s) waiting; Resume runs them, Clear all removes them"
            )
            log.warning(text)
            self.statusBar().showMessage(text)

    def failed(self, experiment):
        self.browser_widget.clear_button.setEnabled(True)
        self._ended(experiment)

    def _ended(self, experiment) -> None:
        for curve in experiment.curve_list:
            if curve:
                curve.update_data()
        status = self._show_file_status(experiment) or "unknown"
        problems = list(getattr(experiment.procedure, "shutdown_problems", []) or [])
        outputs = "every output off" if not problems else "OUTPUT MAY STILL BE ON: " + "; ".join(problems)
        started = self._run_started.pop(id(experiment), None)
        took = f" after {format_duration(time.monotonic() - started)}" if started is not None else ""
        text = f"{os.path.basename(experiment.data_filename)}: {status}{took}; {outputs}"
        (log.warning if status != "completed" or problems else log.info)("run ended: %s", text)
        self.statusBar().showMessage(text)
        self._buttons()
        from tspcm_lab.gui.app import settle_memory

        settle_memory()  # what the run left (its garbage, the model's kernels loaded on first use) out of the next run
        if (
            not self.browser.selectedItems()
            or self.views.current is None
            or self.views.current.results is experiment.results
        ):
            self.analysis_panel.show_run(experiment.results, force=True)

    # ------------------------------------------------------------------ shutting down
    def shut_down(self, timeout_s: float = 120.0) -> list[str]:
        """Abort a running procedure and wait for its shutdown (outputs off, file closed), then turn
        every output off and close the bench (or only turn the outputs off, ``close_bench=False``).
        Returns the problems met. Runs once; called when the window closes."""
        if self._shut_down:
            return []
        self._shut_down = True
        self.queue_button.setEnabled(False)
        if self.manager.is_running():
            log.warning("window closing: aborting the running procedure")
            self.manager.abort()
            if not self.manager.wait_idle(timeout_s):
                log.error("the procedure did not stop within %.0f s; turning the outputs off anyway", timeout_s)
        try:
            problems = self.session.close() if self.close_bench else self.session.all_off()
        except Exception as exc:  # noqa: BLE001 - report, never raise from a close event
            problems = [f"{type(exc).__name__}: {exc}"]
        for problem in problems:
            log.error("shutdown: output may still be on: %s", problem)
        # PyMeasure adds the log widget's handler to the root logger and never removes it
        root = logging.getLogger()
        root.removeHandler(self.log_widget.handler)
        root.setLevel(self._root_level)
        return problems

    def closeEvent(self, event):
        """Closing while a run goes asks first (the run is aborted, every output turned off)."""
        if self.manager.is_running() and not self._shut_down:
            event.ignore()
            self.ask_to_close()
            return
        self.shut_down()
        super().closeEvent(event)

    def ask_to_close(self) -> QtWidgets.QMessageBox:
        """The question before closing mid-run (non-blocking; "Abort run and close" closes)."""
        if self.close_box is not None and self.close_box.isVisible():
            return self.close_box
        name = os.path.basename(self.manager.running_experiment().data_filename)
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            "A run is in progress",
            f"{name} is running. Closing aborts it: the procedure stops at its next "
            f"check, every output is turned off and the rows so far are kept.",
            parent=self,
        )
        self.close_yes = box.addButton("Abort run and close", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        self.close_no = box.addButton("Keep running", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(self.close_no)
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.buttonClicked.connect(self._close_answer)
        box.open()
        self.close_box = box
        return box

    def _close_answer(self, button) -> None:
        if button is self.close_yes:
            self.shut_down()
            self.close()

    def quit(self, evt=None):  # QApplication.aboutToQuit: the application ends, no question
        self.shut_down()
        self.close()


def open_window(procedure: str | type, session: runner.BenchSession, **kwargs: Any) -> RunWindow:
    """A RunWindow for a procedure given by its registered name or its class."""
    if isinstance(procedure, str):
        from tspcm_lab import plugins

        procedure = plugins.load_procedure(procedure)
    return RunWindow(procedure, session, **kwargs)
