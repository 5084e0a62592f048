"""Dialogs of the GUI: the procedure chooser and the run-file open dialog with a preview."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from pymeasure.display.Qt import QtCore, QtWidgets
from pymeasure.display.widgets import ResultsDialog

log = logging.getLogger(__name__)

#: name filter of the open dialog
RUN_FILE_FILTER = "Run files (*.h5 *.hdf5);;All files (*)"


class RunFileDialog(ResultsDialog):
    """PyMeasure's results dialog for run files: the preview (plot, parameters, metadata) reads the
    HDF5 file through the store. Files in ``busy`` (being written by this process) are not previewed:
    a run file must not be opened in the process that is writing it."""

    def __init__(
        self, procedure_class, widget_list=(), parent=None, directory: str | os.PathLike = "", busy: Iterable[str] = ()
    ):
        super().__init__(procedure_class, widget_list=widget_list, parent=parent)
        self.busy = {os.path.abspath(p) for p in busy}
        self.setNameFilter(RUN_FILE_FILTER)
        self.setWindowTitle("Open run files")
        if directory:
            self.setDirectory(str(directory))

    def update_preview(self, filename):
        from tspcm_lab.store.errors import RunFileError
        from tspcm_lab.store.pymeasure_glue import HDF5Results

        filename = str(filename)
        if not filename or os.path.isdir(filename) or os.path.abspath(filename) in self.busy:
            return
        try:
            results = HDF5Results.load(filename)
        except (RunFileError, OSError, ValueError, KeyError) as exc:
            log.debug("no preview of %s: %s", filename, exc)
            self.preview_param.clear()
            self.preview_metadata.clear()
            return
        for widget in self.preview_widget_list:
            widget.clear_widget()
            if all(column in results.procedure.DATA_COLUMNS for column in _axes(widget)):
                widget.load(widget.new_curve(results))
        self.preview_param.clear()
        for parameter in results.procedure.parameter_objects().values():
            self.preview_param.addTopLevelItem(QtWidgets.QTreeWidgetItem([parameter.name, str(parameter)]))
        self.preview_metadata.clear()
        run = results._run  # the reader (HDF5Results.load keeps it): status, title and /metadata
        rows = [
            ("Status", run.status),
            ("Title", run.title),
            ("Start time (UTC)", run.start_time),
            ("Seed", "" if run.seed is None else str(run.seed)),
            ("Rows", str(run.n_rows)),
        ]
        rows += [
            (record.label or key, f"{record.value} {record.units}".strip()) for key, record in run.metadata.items()
        ]
        rows += analysis_rows(run)
        for name, value in rows:
            self.preview_metadata.addTopLevelItem(QtWidgets.QTreeWidgetItem([name, str(value)]))


def analysis_rows(run) -> list[tuple[str, str]]:
    """("analysis: feature", value with SI prefix) of the run's stored /analysis (tspcm analyze)."""
    from tspcm_lab.gui.analysis import _stored
    from tspcm_lab.si import format_si

    stored = run.analysis.get(run.procedure)
    if not stored:
        return [("Analysis", "none stored (tspcm analyze writes it; the window's panel computes it)")]
    result = _stored(str(run.path), run.procedure, stored)
    return [("Analysis", result.note)] + [(f"analysis: {f.name}", format_si(f.value, f.units)) for f in result.features]


def _axes(plot_widget) -> list[str]:
    frame = getattr(plot_widget, "plot_frame", None)
    return [a for a in (getattr(frame, "x_axis", None), getattr(frame, "y_axis", None)) if a]


class ProcedureChooser(QtWidgets.QDialog):
    """Pick one of the registered procedures (entry-point group ``tspcm_lab.procedures``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        from tspcm_lab import plugins

        self.setWindowTitle("tspcm gui: choose a procedure")
        self.list = QtWidgets.QListWidget(self)
        self.problems: dict[str, str] = {}
        for name in plugins.names():
            try:
                cls = plugins.load_procedure(name)
                text = f"{name}  --  {plugins.summary_line(cls)}"
            except plugins.ProcedureLookupError as exc:
                self.problems[name] = str(exc)
                text = f"{name}  --  cannot be loaded: {exc}"
            item = QtWidgets.QListWidgetItem(text, self.list)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            if name in self.problems:
                item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEnabled)
        first = next(
            (i for i in range(self.list.count()) if self.list.item(i).flags() & QtCore.Qt.ItemFlag.ItemIsEnabled), None
        )
        if first is not None:
            self.list.setCurrentRow(first)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Procedure to run:", self))
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(640, 360)

    def names(self) -> list[str]:
        return [self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, name: str) -> None:
        self.list.setCurrentRow(self.names().index(name))

    @property
    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)


def choose_procedure(parent=None) -> str | None:
    """Show the chooser (modal); the chosen name, or None when cancelled."""
    dialog = ProcedureChooser(parent)
    if dialog.exec():
        return dialog.chosen
    return None
