"""The analysis panel: the features of the selected run, from the same extractors as ``tspcm analyze``.

- A run whose file holds ``/analysis/<procedure>`` (``tspcm analyze`` wrote it) shows the stored
  values, with the analysis version they were made with.
- Otherwise the analysis registered for the procedure (``tspcm_lab.analysis.registry``, the very
  function ``tspcm analyze`` calls) runs on the run file -- or, while the run is still being written,
  on the rows shown live (:class:`LiveRun`, the same columns and parameters the file will hold).

The extractors run in a background thread, so a long analysis never freezes the window; the result
comes back through a Qt signal. Features are listed as the extractor names them (a new or renamed
feature appears without a change here), values with SI prefixes, the criterion as a tooltip.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pymeasure.display.Qt import QtCore, QtWidgets

from tspcm_lab.si import format_si

log = logging.getLogger(__name__)


@dataclass
class FeatureRow:
    name: str
    value: float
    units: str = ""
    criterion: str = ""
    method: str = ""


@dataclass
class AnalysisResult:
    """What the panel shows for one run."""

    path: str
    procedure: str
    source: str  #: "stored" (the file's /analysis) or "computed"
    features: list[FeatureRow] = field(default_factory=list)
    arrays: dict[str, Any] = field(default_factory=dict)
    note: str = ""  #: version, or why there is nothing
    error: str = ""

    def value(self, name: str) -> float:
        return next((f.value for f in self.features if f.name == name), math.nan)

    def as_dict(self) -> dict[str, float]:
        return {f.name: f.value for f in self.features}


class LiveRun:
    """The rows shown live, dressed as a run file for the extractors (``columns``, ``parameters``,
    ``procedure``, ``path``), so a run being written is analysed exactly as its file will be."""

    def __init__(self, results):
        from tspcm_lab.store.params import from_procedure

        frame = results.data
        self.path = Path(results.data_filename)
        self.procedure = getattr(results.procedure, "name", "") or type(results.procedure).__name__
        self.columns = {c: np.asarray(frame[c], dtype=float) for c in frame.columns}
        self.parameters = {r.key: r for r in from_procedure(results.procedure)}
        self.analysis: dict = {}


def analyze(results) -> AnalysisResult:
    """The analysis of one run (see the module docstring). Never raises: problems go to ``error``."""
    from tspcm_lab.analysis.registry import NoAnalysisError, get_analysis

    path = str(results.data_filename)
    procedure = getattr(results.procedure, "name", "") or type(results.procedure).__name__
    try:
        if getattr(results, "live", False):
            run = LiveRun(results)
        else:
            from tspcm_lab.store.reader import read_run

            run = read_run(path)
            stored = run.analysis.get(run.procedure)
            if stored:
                return _stored(path, run.procedure, stored)
        procedure = run.procedure or procedure
        if not len(next(iter(run.columns.values()), [])):
            return AnalysisResult(path, procedure, "computed", note="no rows yet")
        analysis = get_analysis(procedure)(run)
    except NoAnalysisError as exc:
        return AnalysisResult(path, procedure, "computed", note=str(exc))
    except Exception as exc:  # noqa: BLE001 - shown in the panel, never raised into the event loop
        return AnalysisResult(path, procedure, "computed", error=f"{type(exc).__name__}: {exc}")
    from tspcm_lab.analysis.features import ANALYSIS_VERSION

    rows = [FeatureRow(f.name, f.value, f.units, f.criterion, f.method) for f in analysis.features]
    arrays = {k: np.asarray(v[0]) for k, v in analysis.arrays.items()}
    return AnalysisResult(
        path,
        procedure,
        "computed",
        rows,
        arrays,
        note=f"computed now by tspcm analyze's extractors (version {ANALYSIS_VERSION})",
    )


def _stored(path: str, procedure: str, group: dict) -> AnalysisResult:
    rows, arrays = [], {}
    for name, value in group["values"].items():
        array = np.asarray(value)
        if array.ndim == 0 and np.issubdtype(array.dtype, np.number):
            rows.append(
                FeatureRow(
                    name,
                    float(array),
                    group["units"].get(name, ""),
                    str(group.get("criterion", "")),
                    str(group.get("method", "")),
                )
            )
        else:
            arrays[name] = array
    version = group.get("analysis_version", "")
    return AnalysisResult(
        path,
        procedure,
        "stored",
        sorted(rows, key=lambda r: r.name),
        arrays,
        note=f"stored in the run file by tspcm analyze (version {version})",
    )


class _Relay(QtCore.QObject):
    done = QtCore.Signal(object, object)  # (results, AnalysisResult)


class AnalysisPanel(QtWidgets.QWidget):
    """The features of one run (see the module docstring). ``show_run(results)`` analyses in the
    background; ``updated(results, AnalysisResult)`` fires when the panel shows the answer."""

    updated = QtCore.Signal(object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel("Analysis: select a run", self)
        self.title.setWordWrap(True)
        self.tree = QtWidgets.QTreeWidget(self)
        self.tree.setHeaderLabels(["Feature", "Value"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 190)
        self.refresh_button = QtWidgets.QPushButton("Recompute", self)
        self.refresh_button.setToolTip("Analyse the selected run again (the rows so far, while it runs)")
        self.refresh_button.clicked.connect(lambda: self.show_run(self.results, force=True))
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.refresh_button)
        box.addLayout(head)
        box.addWidget(self.tree, 1)
        self.results = None
        self.result: AnalysisResult | None = None
        self._busy = False
        self._again = False
        self._relay = _Relay()
        self._relay.done.connect(self._show)
        self.cache: dict[str, AnalysisResult] = {}  #: finished runs' analyses by path

    def show_run(self, results, force: bool = False) -> None:
        """Analyse ``results`` (in the background) and show it; a finished run's analysis is kept."""
        if results is None:
            return
        self.results = results
        path = str(results.data_filename)
        if not force and path in self.cache and not getattr(results, "live", False):
            self._show(results, self.cache[path])
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.title.setText(f"Analysis of {Path(path).name}: computing...")
        threading.Thread(target=self._work, args=(results,), name="tspcm-analysis", daemon=True).start()

    def _work(self, results) -> None:
        result = analyze(results)
        self._relay.done.emit(results, result)

    def _show(self, results, result: AnalysisResult) -> None:
        self._busy = False
        if not getattr(results, "live", False) and not result.error:
            self.cache[result.path] = result
        if self._again:
            self._again = False
            if self.results is not results:
                self.show_run(self.results)
                return
        if self.results is not results:
            return
        self.result = result
        name = Path(result.path).name
        self.tree.clear()
        if result.error:
            self.title.setText(f"Analysis of {name} failed: {result.error}")
        else:
            self.title.setText(f"Analysis of {name} ({result.procedure}): {result.note}")
        for row in result.features:
            item = QtWidgets.QTreeWidgetItem([row.name, format_si(row.value, row.units)])
            item.setData(1, QtCore.Qt.ItemDataRole.UserRole, row.value)
            item.setToolTip(0, row.method)
            item.setToolTip(1, row.criterion or row.method)
            self.tree.addTopLevelItem(item)
        self.updated.emit(results, result)

    def shown_value(self, feature: str) -> tuple[float, str]:
        """(value, text) of a feature as the panel shows it (NaN, "" when absent)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0) == feature:
                return float(item.data(1, QtCore.Qt.ItemDataRole.UserRole)), item.text(1)
        return math.nan, ""
