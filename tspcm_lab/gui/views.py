"""The procedure's own views of its runs, as docks in one tab: what the procedure declares in ``VIEWS``
(:mod:`tspcm_lab.gui.viewspec`), drawn with pyqtgraph from the run's rows, live while it runs.

- :class:`XYView`: columns against each other, one line per series (cycle, phase, stage...), coloured
  and in a legend; log axes with |y|; per-series marks (Vth, Vhold) as vertical lines with a readout;
  reference lines at a parameter's value; the NeuroSim fit; analysis features written under the plot.
- :class:`MapView`: the conductance map of an array, the latest frame while the run goes (log colour
  scale, values written in the cells, target cells outlined); a click on a cell plots its history.
- :class:`TracesView`: the run's stored scope traces with the events detected at the run's threshold.

:class:`ViewsWidget` is a PyMeasure ``TabWidget``: the window's Manager and browser handle one
:class:`RunViews` per run (the "curve" of PyMeasure's API: ``update_data``, ``set_color``, ``wdg``).
A timer redraws the runs that are being written; nothing here reads a file that is being written.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pymeasure.display.Qt import QtCore, QtGui, QtWidgets
from pymeasure.display.widgets.tab_widget import TabWidget
from pyqtgraph.dockarea import Dock, DockArea

from tspcm_lab.gui.viewspec import as_list, column_name, column_units, views_of
from tspcm_lab.si import format_si

log = logging.getLogger(__name__)

#: categorical colours (few series), then a colour map for many
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MARK_STYLES = [QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.DotLine, QtCore.Qt.PenStyle.DashDotLine]
MARK_SYMBOLS = ["t1", "t", "d"]  # up triangle (threshold), down triangle (hold), diamond
REFRESH_MS = 300
#: most series drawn as separate items (more are drawn as the latest ones)
MAX_SERIES = 400

pg.setConfigOptions(antialias=False, background="w", foreground="k")


def parameter_value(results, key: str) -> Any:
    return getattr(results.procedure, key, None)


def _label_value(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def series_colors(keys: list, many: bool) -> dict:
    """Colour per distinct colour key: the palette for a few, a colour map for many (its scale
    steps in powers of two, so that the colours of a growing run do not change at every new series)."""
    if len(keys) <= len(PALETTE) and not many:
        return {k: pg.mkColor(PALETTE[i]) for i, k in enumerate(keys)}
    cmap = pg.colormap.get("viridis")
    n = 2 ** math.ceil(math.log2(max(len(keys), 2))) - 1
    return {k: cmap.map(0.9 * i / n, mode="qcolor") for i, k in enumerate(keys)}


def split_series(frame: pd.DataFrame, columns: list[str]) -> list[tuple[tuple, np.ndarray]]:
    """[(key, row indices)] of the runs of rows with equal values in ``columns``, in order of first
    appearance (one series per distinct key)."""
    n = len(frame)
    if not columns or n == 0:
        return [((), np.arange(n))]
    values = frame[columns].to_numpy(dtype=float)
    values = np.where(np.isnan(values), -1e300, values)
    change = np.flatnonzero(np.any(values[1:] != values[:-1], axis=1)) + 1
    starts = np.concatenate([[0], change])
    if len({tuple(values[s]) for s in starts}) == starts.size:  # each series in one block of rows (usual)
        bounds = np.concatenate([starts, [n]])
        return [
            (tuple(float(v) if v != -1e300 else math.nan for v in values[a]), np.arange(a, b))
            for a, b in zip(bounds[:-1], bounds[1:])
        ]
    keys, first, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    rows = np.argsort(inverse, kind="stable")
    pieces = np.split(rows, np.cumsum(np.bincount(inverse, minlength=len(keys)))[:-1])
    return [
        (tuple(float(v) if v != -1e300 else math.nan for v in keys[k]), pieces[k])
        for k in np.argsort(first, kind="stable")
    ]


class BaseView(QtWidgets.QWidget):
    """A view in a dock: ``draw(run, frame)`` for each shown run, ``set_analysis`` when known."""

    def __init__(self, spec: dict, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.caption = QtWidgets.QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setStyleSheet("color: #202020; font-size: 9pt;")
        self.analysis_text = ""
        self.live_text = ""

    def draw(self, run: RunViews, frame: pd.DataFrame, current: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def clear(self, run: RunViews) -> None:
        pass

    def set_analysis(self, run: RunViews, result) -> None:
        names = as_list(self.spec.get("features"))
        parts = []
        for name in names:
            row = next((f for f in result.features if f.name == name), None)
            if row is not None:
                parts.append(f"{name} = {format_si(row.value, row.units)}")
        self.analysis_text = ", ".join(parts)
        self._caption()

    def _caption(self) -> None:
        text = "; ".join(t for t in (self.live_text, self.analysis_text) if t)
        self.caption.setText(text)
        self.caption.setVisible(bool(text))


class LogAxis(pg.AxisItem):
    """A log axis whose ticks read as values with SI prefixes ("20 µS"), decades first, 2 and 5
    between them when there is room (pyqtgraph labels every minor tick, which overlap)."""

    def __init__(self, orientation: str, units: str):
        super().__init__(orientation)
        self.units = units

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt/pyqtgraph spelling
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        mantissas = []
        for v in values:
            real = 10.0**v
            mantissas.append(round(real / 10 ** math.floor(math.log10(real) + 1e-9), 3))
        decades = sum(1 for m in mantissas if m == 1)
        keep = {1} if decades >= 2 else {1, 2, 5}
        out = [format_si(10.0**v, self.units, 2) if m in keep else "" for v, m in zip(values, mantissas)]
        if not any(out):
            out = [format_si(10.0**v, self.units, 2) for v in values]
        return out


class CoordinatePlot(pg.PlotWidget):
    """A plot whose cursor readout gives values in units (log axes read as values, not log10)."""

    def __init__(self, spec_x: str, spec_y: str, log_x: bool, log_y: bool, parent=None):
        axes = {
            side: LogAxis(side, column_units(label))
            for side, label, log_mode in (("bottom", spec_x, log_x), ("left", spec_y, log_y))
            if log_mode
        }
        super().__init__(parent, background="w", axisItems=axes)
        self.plot_item = self.getPlotItem()
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.plot_item.getViewBox().setDefaultPadding(0.04)
        self.log_x, self.log_y = log_x, log_y
        self.units_x, self.units_y = column_units(spec_x), column_units(spec_y)
        for side, label, log_mode in (("bottom", spec_x, log_x), ("left", spec_y, log_y)):
            units = column_units(label)
            axis = self.plot_item.getAxis(side)
            if units and not log_mode:
                self.plot_item.setLabel(side, column_name(label), units=units)
            else:  # no unit: no "(x0.001)" scale; log axis: the ticks carry the unit
                axis.enableAutoSIPrefix(False)
                self.plot_item.setLabel(side, column_name(label) if units else label)
        self.plot_item.setLogMode(x=log_x, y=log_y)
        self.readout = pg.TextItem("", color="#404040", anchor=(1, 1))
        self.readout.setZValue(100)
        self.plot_item.addItem(self.readout, ignoreBounds=True)
        self._proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._moved)

    def _moved(self, event) -> None:
        point = self.plot_item.vb.mapSceneToView(event[0])
        x, y = point.x(), point.y()
        x = 10**x if self.log_x else x
        y = 10**y if self.log_y else y
        self.readout.setText(f"{format_si(x, self.units_x)}, {format_si(y, self.units_y)}")
        (x0, x1), (y0, y1) = self.plot_item.vb.viewRange()
        self.readout.setPos(x1, y0)


class XYView(BaseView):
    """Columns against each other, split into series (see the module docstring)."""

    def __init__(self, spec: dict, columns: list[str], parent=None):
        super().__init__(spec, parent)
        self.columns = columns
        self.x = spec["x"]
        self.ys = as_list(spec["y"])
        self.series = as_list(spec.get("series"))
        self.color_by = spec.get("color_by")
        self.labels = {str(k): v for k, v in (spec.get("labels") or {}).items()}
        self.log_x, self.log_y = bool(spec.get("log_x")), bool(spec.get("log_y"))
        self.abs_y = bool(spec.get("abs_y"))
        style = spec.get("style", "lines")
        self.lines, self.points = style in ("lines", "both"), style in ("points", "both")
        ylabel = (
            self.ys[0]
            if len(self.ys) == 1
            else (
                ", ".join(column_name(y) for y in self.ys)
                + (f" ({column_units(self.ys[0])})" if column_units(self.ys[0]) else "")
            )
        )
        if self.abs_y and column_units(self.ys[0]):
            ylabel = f"|{column_name(self.ys[0])}| ({column_units(self.ys[0])})"
        self.plot = CoordinatePlot(self.x, ylabel, self.log_x, self.log_y, self)
        self.legend = self.plot.plot_item.addLegend(offset=(-5, 5), labelTextSize="8pt", verSpacing=-6)
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.items: dict[int, dict] = {}  # id(run) -> {"data": {key: (item, signature)}, "extra", "marks"}
        self._latest_sample = pg.PlotDataItem([], [])
        self._latest_label = None
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.plot, 1)
        box.addWidget(self.caption)
        self.caption.hide()

    # ------------------------------------------------------------------ drawing
    # Items are kept and updated in place (a redraw of a growing run touches only the series that grew,
    # and the marks and lines only when they change): adding items to a plot costs far more than
    # setting their data, and the window redraws a running run every REFRESH_MS.
    def clear(self, run) -> None:
        state = self.items.pop(id(run), None)
        if state is not None:
            for item, _sig in state["data"].values():
                self.plot.plot_item.removeItem(item)
            for item in state["extra"][1] + state.get("marks", []):
                self.plot.plot_item.removeItem(item)
        if not self.items:
            self.legend.clear()
            self._legend_shown = None

    def data_items(self, run) -> list:
        state = self.items.get(id(run))
        return [item for item, _sig in state["data"].values()] if state else []

    def mark_columns(self, frame: pd.DataFrame, groups) -> list[str]:
        marks = self.spec.get("marks")
        if marks != "auto":
            return list(marks or [])
        units = column_units(self.x)
        out = []
        recent = groups[-8:]  # the series the marks are drawn for
        for column in self.columns:
            if column in (self.x, *self.ys, *self.series) or column_units(column) != units or not units:
                continue
            values = frame[column].to_numpy(dtype=float)
            chunks = [values[idx] for _, idx in recent]
            chunks = [c[np.isfinite(c)] for c in chunks]
            if any(c.size for c in chunks) and all(c.min() == c.max() for c in chunks if c.size):
                out.append(column)
        return out

    def series_label(self, key: tuple) -> str:
        if not self.series:
            return ""
        if self.color_by and self.color_by in self.series:
            value = key[self.series.index(self.color_by)]
            text = self.labels.get(_label_value(value))
            if text:
                return text
            return f"{column_name(self.color_by).lower()} {_label_value(value)}"
        return ", ".join(f"{column_name(c).lower()} {_label_value(v)}" for c, v in zip(self.series, key))

    def draw(self, run, frame: pd.DataFrame, current: bool) -> None:
        if not len(frame) or self.x not in frame:
            self.clear(run)
            return
        state = self.items.setdefault(id(run), {"data": {}, "extra": (None, [])})
        groups = split_series(frame, self.series)[-MAX_SERIES:]
        color_keys = [
            key[self.series.index(self.color_by)] if self.color_by in self.series else key for key, _ in groups
        ]
        distinct = list(dict.fromkeys(color_keys))
        many = len(distinct) > len(PALETTE)
        colors = series_colors(distinct, many) if self.series else {}
        multi_y = len(self.ys) > 1
        x_all = frame[self.x].to_numpy(dtype=float)
        y_all = {y: frame[y].to_numpy(dtype=float) for y in self.ys if y in frame}
        events_col = self.spec.get("events")
        event_values = frame[events_col].to_numpy(dtype=float) if events_col else None
        offset, last_event, events, wanted, legend = None, None, [], set(), []
        for (key, idx), ck in zip(groups, color_keys):
            x = x_all[idx]
            if self.spec.get("x_cumulative") and len(idx) and np.isfinite(x).any():
                if offset is not None:  # the first series keeps its x; the next ones follow it
                    x = x - np.nanmin(x) + offset
                offset = np.nanmax(x) + 1
            if event_values is not None and len(idx):
                value = event_values[idx[0]]
                if last_event is not None and value != last_event and np.isfinite(x).any():
                    name = self.labels.get(_label_value(value)) if events_col == self.color_by else None
                    events.append(
                        (
                            float(np.nanmin(x) - 0.5),
                            f"{name} after forgetting"
                            if name
                            else f"{column_name(events_col).lower()} {_label_value(value)}",
                        )
                    )
                last_event = value
            x_use = np.where(x > 0, x, np.nan) if self.log_x else x
            for j, y_col in enumerate(y_all):
                y = y_all[y_col][idx]
                if self.abs_y:
                    y = np.abs(y)
                if self.log_y:
                    y = np.where(y > 0, y, np.nan)
                if multi_y:
                    color = pg.mkColor(PALETTE[j % len(PALETTE)])
                    label = column_name(y_col)
                    if self.series and len(groups) > 1:
                        color.setAlpha(255 if ck == color_keys[-1] else 120)
                else:
                    color = QtGui.QColor(colors.get(ck, run.color) if self.series else run.color)
                    label = self.series_label(key)
                if not current:
                    color = QtGui.QColor(color)
                    color.setAlpha(110)
                if not (np.isfinite(x_use) & np.isfinite(y)).any():
                    continue  # rows of another kind (delay rows in a recovery plot): nothing to draw
                item_key = (key, y_col)
                wanted.add(item_key)
                item = self._set_series(state, item_key, x_use, y, color, label, len(idx))
                if (
                    current
                    and label
                    and label not in [name for name, _ in legend]
                    and (not many or ck == color_keys[0])
                ):
                    legend.append((label, item))
        for item_key in [k for k in state["data"] if k not in wanted]:
            self.plot.plot_item.removeItem(state["data"].pop(item_key)[0])
        marks, readout = self._marks(run, frame, groups, color_keys, colors)
        self._set_marks(state, marks)
        extras = (tuple(events), self._hlines(run), self._fit(run, frame, groups))
        if extras != state["extra"][0]:
            for item in state["extra"][1]:
                self.plot.plot_item.removeItem(item)
            state["extra"] = (extras, self._make_extras(*extras))
        if current and not wanted:  # rows, but nothing to draw: say so rather than show an empty frame
            readout = (
                f"no finite values of {', '.join(self.ys)} in the {len(frame)} rows so far "
                f"(NaN: e.g. a read below its range)"
            )
        if current:
            latest = None
            if many and groups:  # many series: the first one and the latest (its entry follows the run)
                latest = (self.series_label(groups[-1][0]) + " (latest)", colors.get(color_keys[-1], run.color))
            self._set_legend(legend, marks, bool(extras[2]), latest)
            self.live_text = readout
            self._caption()

    def _set_series(self, state, item_key, x, y, color, label, n):
        """Create or update the item of one series (data set only when it changed)."""
        if len(x) > 1:  # repeated points (a per-cycle value on every row) drawn once
            keep = np.ones(len(x), dtype=bool)
            keep[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
            x, y = x[keep], y[keep]
        signature = (len(x), color.rgba(), float(np.nansum(y[-3:])) if len(y) else 0.0)
        found = state["data"].get(item_key)
        if found is not None and found[1] == signature:
            return found[0]
        pen = pg.mkPen(color, width=1.5 if n < 2000 else 1) if self.lines else None
        brush = pg.mkBrush(color) if self.points else None
        if found is None:
            item = pg.PlotDataItem(
                x,
                y,
                pen=pen,
                connect="finite",
                symbol="o" if self.points else None,
                symbolSize=5,
                symbolBrush=brush,
                symbolPen=None,
            )
            item.setDownsampling(auto=True, method="peak")
            item.series_label = label
            self.plot.plot_item.addItem(item)
        else:
            item = found[0]
            item.setData(
                x,
                y,
                pen=pen,
                symbolBrush=brush,
                symbol="o" if self.points else None,
                symbolSize=5,
                symbolPen=None,
                connect="finite",
            )
        state["data"][item_key] = (item, signature)
        return item

    def _set_legend(self, legend, marks, fit: bool, latest=None) -> None:
        """Rebuild the legend only when its entries change (an entry costs a few ms to make); the
        "latest" entry of a run with many series is updated in place."""
        mark_kinds = list(dict.fromkeys((name, style) for _pos, _color, style, name in marks))
        keys = (
            tuple(label for label, _ in legend)
            + tuple(mark_kinds)
            + (("NeuroSim fit",) if fit else ())
            + ((True,) if latest else ())
        )
        if latest is not None:
            self._latest_sample.setPen(pg.mkPen(latest[1], width=1.5))
        if keys == getattr(self, "_legend_shown", None):
            if latest is not None and self._latest_label is not None:
                self._latest_label.setText(latest[0])
            return
        self._legend_shown = keys
        self.legend.clear()
        for label, item in legend:
            self.legend.addItem(item, label)
        self._latest_label = None
        if latest is not None:
            self.legend.addItem(self._latest_sample, latest[0])
            self._latest_label = self.legend.items[-1][1]
        styles = {0: "dashed", 1: "dotted", 2: "dash-dot"}
        for name, style in mark_kinds:
            sample = pg.PlotDataItem([], [], pen=pg.mkPen("#404040", style=MARK_STYLES[style]))
            self.legend.addItem(sample, f"{name} ({styles[style]})")
        if fit:
            self.legend.addItem(pg.PlotDataItem([], [], pen=pg.mkPen("k", width=1.5)), "NeuroSim fit")

    def _hlines(self, run) -> tuple:
        out = []
        for key in as_list(self.spec.get("hlines")):
            value = parameter_value(run.results, key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                units = column_units(self.ys[0]) if key.endswith(("_S", "_V", "_A")) else ""
                out.append((float(value), f"{key} = {format_si(value, units)}"))
        return tuple(out)

    def _marks(self, run, frame, groups, color_keys, colors) -> tuple[list, str]:
        """[(x, rgba, style index, name)] of the marks of the latest series, and the readout."""
        marks = [m for m in self.mark_columns(frame, groups) if m in frame]
        if not marks:
            return [], ""
        values = {m: frame[m].to_numpy(dtype=float) for m in marks}
        out, readout = [], ""
        shown = groups[-8:]  # the latest series (a line per mark per series)
        for (key, idx), ck in zip(shown, color_keys[-len(shown) :]):
            color = QtGui.QColor(colors.get(ck, run.color))
            parts = []
            for n, mark in enumerate(marks):
                v = values[mark][idx]
                v = v[np.isfinite(v)]
                if not v.size:
                    continue
                pos = float(v[0])
                parts.append(f"{column_name(mark)} = {format_si(pos, column_units(mark))}")
                if not (self.log_x and pos <= 0):
                    out.append((pos, color.rgba(), n % len(MARK_STYLES), column_name(mark)))
            readout = f"{self.series_label(key)}: " + ", ".join(parts) if parts else readout
        return out, readout

    def _fit(self, run, frame, groups) -> tuple:
        """(start x, span, a, gmin, gmax, phase) of the NeuroSim fit of each series."""
        if self.spec.get("fit") != "neurosim" or run.analysis is None:
            return ()
        values = run.analysis.as_dict()
        offset, out = None, []
        phase_col = self.color_by
        x_all = frame[self.x].to_numpy(dtype=float)
        for key, idx in groups:
            x = x_all[idx]
            if not len(idx) or not np.isfinite(x).any():
                continue
            x0 = float(np.nanmin(x))
            span = float(np.nanmax(x)) - x0
            phase = key[self.series.index(phase_col)] if phase_col in self.series else 1.0
            prefix = "p_" if phase > 0 else "d_"
            a, gmin, gmax = (values.get(prefix + n, math.nan) for n in ("a_pulses", "gmin_S", "gmax_S"))
            start = offset if self.spec.get("x_cumulative") and offset is not None else x0
            offset = start + span + 1
            if all(math.isfinite(v) for v in (a, gmin, gmax)) and span > 0:
                out.append((start, span, a, gmin, gmax, 1 if phase > 0 else -1))
        return tuple(out)

    def _set_marks(self, state, marks) -> None:
        """The mark lines, moved and recoloured in place (a new series moves them all)."""
        lines = state.setdefault("marks", [])
        while len(lines) > len(marks):
            self.plot.plot_item.removeItem(lines.pop())
        for n, (pos, rgba, style, _name) in enumerate(marks):
            pen = pg.mkPen(QtGui.QColor.fromRgba(rgba), width=1, style=MARK_STYLES[style])
            x = math.log10(pos) if self.log_x else pos
            if n < len(lines):
                if lines[n].value() != x or lines[n].pen.color().rgba() != rgba or lines[n].pen.style() != pen.style():
                    lines[n].setPos(x)
                    lines[n].setPen(pen)
            else:
                line = pg.InfiniteLine(pos=x, angle=90, pen=pen)
                self.plot.plot_item.addItem(line, ignoreBounds=True)
                lines.append(line)

    def _make_extras(self, events, hlines, fits) -> list:
        def mark(value, log, angle, color, label_opts):
            """A dashed line at ``value`` (data units; the view's log10 when its axis is log)."""
            return pg.InfiniteLine(
                pos=math.log10(value) if log and value > 0 else value,
                angle=angle,
                pen=pg.mkPen(color, width=1, style=QtCore.Qt.PenStyle.DashLine),
                label=label_opts.pop("text"),
                labelOpts={**label_opts, "anchors": [(0, 1), (0, 1)]},
            )

        items = [
            mark(x, self.log_x, 90, "#606060", {"text": t, "position": 0.12, "color": "#404040", "rotateAxis": (1, 0)})
            for x, t in events
        ]
        items += [
            mark(y, self.log_y, 0, "#b00000", {"text": t, "position": 0.02, "color": "#b00000"}) for y, t in hlines
        ]
        if fits:
            from tspcm_lab.analysis.plasticity import neurosim_conductance

            for start, span, a, gmin, gmax, phase in fits:
                p = np.linspace(0, span, 100)
                items.append(
                    pg.PlotDataItem(
                        start + p, neurosim_conductance(p, a, gmin, gmax, span, phase), pen=pg.mkPen("k", width=1.5)
                    )
                )
        for item in items:
            self.plot.plot_item.addItem(item, ignoreBounds=isinstance(item, pg.InfiniteLine))
        return items


class MapView(BaseView):
    """The latest conductance map of an array run; click a cell for its history."""

    frame_shown = QtCore.Signal(object)  #: the frame key (e.g. (stage, epoch)) just drawn

    def __init__(self, spec: dict, parent=None):
        super().__init__(spec, parent)
        self.row, self.col, self.value = spec["row"], spec["column"], spec["value"]
        self.frame_cols = as_list(spec.get("frame"))
        self.units = column_units(self.value)
        self.map_widget = pg.PlotWidget(self, background="w")
        self.map_plot = self.map_widget.getPlotItem()
        self.map_plot.setAspectLocked(True)
        self.map_plot.invertY(True)
        self.map_plot.hideButtons()
        self.map_plot.setMenuEnabled(False)
        self.map_plot.setLabel("bottom", column_name(self.col))
        self.map_plot.setLabel("left", column_name(self.row))
        self.image = pg.ImageItem()
        self.map_plot.addItem(self.image)
        self.cmap = pg.colormap.get("viridis")
        self.colorbar = pg.ColorBarItem(
            values=(-6, -4), colorMap=self.cmap, label=f"log10 {self.value}", interactive=False, width=12
        )
        self.colorbar.setImageItem(self.image, insert_in=self.map_plot)
        self.history_widget = pg.PlotWidget(self, background="w", axisItems={"left": LogAxis("left", self.units)})
        self.history = self.history_widget.getPlotItem()
        self.history.setLogMode(y=True)
        self.history.showGrid(x=True, y=True, alpha=0.25)
        self.history.setLabel("left", column_name(self.value))
        self.history.getAxis("left").enableAutoSIPrefix(False)
        self.history.setLabel("bottom", "epoch (cumulative)")
        self.history.setTitle("click a cell", size="9pt")
        self.texts: list = []
        self.outlines: list = []
        self.run = None
        self.frame: pd.DataFrame | None = None
        self.selected: tuple[int, int] | None = None
        self.shown_key = None
        self.shown_map: np.ndarray | None = None
        self.drawn = 0
        self.image.mouseClickEvent = self._clicked
        self.history_widget.setMinimumWidth(180)
        self.map_widget.setMinimumWidth(220)
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal, self)
        plots.addWidget(self.map_widget)
        plots.addWidget(self.history_widget)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(plots, 1)
        box.addWidget(self.caption)
        self.caption.hide()

    def clear(self, run) -> None:
        if self.run is run:
            self.run = None
            self.frame = None
            self.drawn = 0
            self.shown_key = None
            self.image.clear()
            for item in self.texts + self.outlines:
                self.map_plot.removeItem(item)
            self.texts, self.outlines = [], []
            self.history.clear()

    def draw(self, run, frame: pd.DataFrame, current: bool) -> None:
        if not current:
            return
        if run is not self.run:
            self.clear(self.run)
            self.drawn = 0
        self.run, self.frame = run, frame
        if not len(frame):
            return
        rows = frame[self.row].to_numpy(dtype=float)
        cols = frame[self.col].to_numpy(dtype=float)
        values = frame[self.value].to_numpy(dtype=float)
        shape = (int(np.nanmax(rows)) + 1, int(np.nanmax(cols)) + 1)
        target = self._target(shape)
        # a frame is drawn once whole (every cell read); each new one in turn, so none is skipped
        groups = [(k, i) for k, i in split_series(frame, self.frame_cols) if len(i) >= shape[0] * shape[1]]
        if not groups:
            return
        finite = values[np.isfinite(values) & (values > 0)]
        lo, hi = (np.log10(finite.min()), np.log10(finite.max())) if finite.size else (-6, -4)
        if hi - lo < 0.5:
            lo, hi = lo - 0.25, hi + 0.25
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.colorbar.setLevels((lo, hi))
        for key, idx in groups[min(self.drawn, len(groups) - 1) :]:
            g = np.full(shape, np.nan)
            g[rows[idx].astype(int), cols[idx].astype(int)] = values[idx]
            logg = np.log10(np.clip(g, 10**lo, None))
            self.image.setImage(logg.T, levels=(lo, hi), autoLevels=False)
            if key != self.shown_key:
                self.shown_key = key
                self.shown_map = g
                self.frame_shown.emit(key)
        self.drawn = len(groups)
        for item in self.texts + self.outlines:
            self.map_plot.removeItem(item)
        self.texts, self.outlines = [], []
        for (i, j), value in np.ndenumerate(g):
            bright = np.isfinite(logg[i, j]) and (logg[i, j] - lo) / (hi - lo) > 0.6
            text = pg.TextItem(
                format_si(value, self.units, 3).replace(" ", "\n"), color="k" if bright else "w", anchor=(0.5, 0.5)
            )
            font = QtGui.QFont()
            font.setPointSize(7)
            text.setFont(font)
            text.setPos(j + 0.5, i + 0.5)
            self.map_plot.addItem(text)
            self.texts.append(text)
        if target is not None:
            for (i, j), on in np.ndenumerate(target):
                if on:
                    rect = QtWidgets.QGraphicsRectItem(j + 0.04, i + 0.04, 0.92, 0.92)
                    rect.setPen(pg.mkPen("#ff4040", width=2))
                    self.map_plot.addItem(rect)
                    self.outlines.append(rect)
        self.map_plot.setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=0.02)
        if self.selected is None and target is not None and target.any():
            self.selected = tuple(int(v) for v in np.argwhere(target)[0])
        labels = ", ".join(f"{column_name(c).lower()} {_label_value(v)}" for c, v in zip(self.frame_cols, key))
        threshold = (
            parameter_value(run.results, self.spec.get("threshold_parameter", ""))
            if self.spec.get("threshold_parameter")
            else None
        )
        learned = ""
        if target is not None and isinstance(threshold, (int, float)):
            acc = float(np.mean((g >= threshold) == target))
            learned = f"; accuracy {acc:.0%} at {format_si(threshold, self.units)}"
        self.live_text = f"map after {labels}{learned}; red outline: target cells"
        self._caption()
        if self.selected is not None:
            self.show_history(*self.selected)

    def _target(self, shape) -> np.ndarray | None:
        key = self.spec.get("target_parameter")
        text = parameter_value(self.run.results, key) if key and self.run is not None else None
        if not text:
            return None
        try:
            from tspcm_lab.analysis.learning import parse_pattern

            target = parse_pattern(str(text))
        except ValueError:
            return None
        return target if target.shape == shape else None

    def _clicked(self, event) -> None:
        pos = event.pos()
        self.show_history(int(pos.y()), int(pos.x()))
        event.accept()

    def show_history(self, row: int, col: int) -> None:
        """Plot the history of one cell (all frames), the read threshold as a line."""
        self.selected = (row, col)
        self.history.clear()
        frame = self.frame
        if frame is None or not len(frame):
            return
        sel = (frame[self.row].to_numpy(dtype=float) == row) & (frame[self.col].to_numpy(dtype=float) == col)
        cell = frame[sel]
        stage_col = self.frame_cols[0] if len(self.frame_cols) > 1 else None
        groups = split_series(cell, [stage_col] if stage_col else [])
        colors = series_colors([k for k, _ in groups], False)
        offset = 0
        for key, idx in groups:
            y = cell[self.value].to_numpy(dtype=float)[idx]
            x = np.arange(len(idx)) + 1 + offset
            offset += len(idx)
            self.history.plot(
                x,
                np.where(y > 0, y, np.nan),
                pen=pg.mkPen(colors[key], width=1.5),
                symbol="o",
                symbolSize=5,
                symbolBrush=colors[key],
                symbolPen=None,
                connect="finite",
            )
        threshold = (
            parameter_value(self.run.results, self.spec.get("threshold_parameter", ""))
            if self.spec.get("threshold_parameter")
            else None
        )
        if isinstance(threshold, (int, float)) and threshold > 0:
            self.history.addItem(
                pg.InfiniteLine(
                    pos=math.log10(threshold), angle=0, pen=pg.mkPen("#b00000", style=QtCore.Qt.PenStyle.DashLine)
                )
            )
        self.history.setTitle(f"cell ({row}, {col})", size="9pt")


class TracesView(BaseView):
    """Scope traces of the run (current against time) with the detected firing events."""

    def __init__(self, spec: dict, parent=None):
        super().__init__(spec, parent)
        self.choice = QtWidgets.QComboBox(self)
        self.choice.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.currentIndexChanged.connect(lambda _i: self._draw_trace())
        self.follow = QtWidgets.QCheckBox("follow the latest", self)
        self.follow.setChecked(True)
        self.plot = CoordinatePlot("Time (s)", "Current (A)", False, False, self)
        self.run = None
        self.traces: dict[str, Any] = {}
        self._count = -1
        head = QtWidgets.QHBoxLayout()
        head.addWidget(QtWidgets.QLabel("Trace:", self))
        head.addWidget(self.choice, 1)
        head.addWidget(self.follow)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(head)
        box.addWidget(self.plot, 1)
        box.addWidget(self.caption)
        self.caption.hide()

    def clear(self, run) -> None:
        if self.run is run:
            self.run = None
            self.traces = {}
            self._count = -1
            self.choice.clear()
            self.plot.plot_item.clear()

    def draw(self, run, frame, current: bool) -> None:
        if not current:
            return
        if self.run is not run:
            self.clear(self.run)
            self.run = run
        waveforms = run.waveforms()
        traces = {
            name: w[-1]
            for name, w in waveforms.items()
            if w and (w[-1].y_units == "A" or w[-1].y_label.startswith("Current"))
        }
        if len(traces) == self._count:
            return
        self._count = len(traces)
        self.traces = traces
        keep = self.choice.currentText()
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems(list(traces))
        self.choice.blockSignals(False)
        if traces:
            if self.follow.isChecked() or keep not in traces:
                self.choice.setCurrentIndex(len(traces) - 1)
            else:
                self.choice.setCurrentText(keep)
        self._draw_trace()

    def _draw_trace(self) -> None:
        self.plot.plot_item.clear()
        trace = self.traces.get(self.choice.currentText())
        if trace is None or self.run is None:
            self.live_text = "no scope traces stored in this run (Store captured traces)"
            self._caption()
            return
        from procedures.library.events import crossings_s

        t, i = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
        self.plot.plot_item.plot(t, i, pen=pg.mkPen("#1f77b4", width=1))
        threshold = parameter_value(self.run.results, self.spec.get("threshold_parameter", "fire_current_A"))
        text = f"{trace.name}: {t.size} samples"
        if isinstance(threshold, (int, float)) and threshold > 0:
            self.plot.plot_item.addItem(
                pg.InfiniteLine(
                    pos=threshold,
                    angle=0,
                    pen=pg.mkPen("#b00000", style=QtCore.Qt.PenStyle.DashLine),
                    label=f"firing threshold {format_si(threshold, 'A')}",
                    labelOpts={"position": 0.85, "color": "#b00000", "anchors": [(0.5, 1), (0.5, 1)]},
                )
            )
            t_sample, t_cross = crossings_s(t, i, threshold)
            peaks = np.interp(t_cross, t, np.abs(i)) if t_cross.size else t_cross
            self.plot.plot_item.plot(
                t_cross,
                np.maximum(peaks, threshold),
                pen=None,
                symbol="t1",
                symbolSize=9,
                symbolBrush="#d62728",
                symbolPen=None,
            )
            text += f"; {t_cross.size} events detected (rising through {format_si(threshold, 'A')})"
        self.live_text = text
        self._caption()


class RunViews:
    """One run in the views (PyMeasure's "curve": the Manager and browser call these)."""

    def __init__(self, widget: ViewsWidget, results, color):
        self.wdg = widget
        self.results = results
        self.color = pg.mkColor(color)
        self.n_rows = -1
        self.analysis = None
        self._waveforms = None

    def update_data(self) -> None:
        self._waveforms = None  # the run may have just ended: read its file afresh
        self.wdg.refresh(self, force=True)

    def set_color(self, color) -> None:
        self.color = pg.mkColor(color)
        self.wdg.refresh(self, force=True)

    def waveforms(self) -> dict:
        """{name: [Waveform]}: from memory while the run writes, from the file after."""
        live = getattr(self.results, "live_waveforms", None)
        if getattr(self.results, "live", False) and live is not None:
            return live()
        if self._waveforms is None:
            try:
                from tspcm_lab.store import open_run

                self._waveforms = open_run(self.results.data_filename).waveforms
            except Exception as exc:  # noqa: BLE001 - no file (yet): no traces
                log.debug("waveforms of %s: %s", self.results.data_filename, exc)
                return {}
        return self._waveforms


class ViewsWidget(TabWidget, QtWidgets.QWidget):
    """The procedure's views in docks (see the module docstring)."""

    def __init__(self, procedure_class: type, name: str = "Views", parent=None):
        super().__init__(name, parent)
        self.procedure_class = procedure_class
        self.specs = views_of(procedure_class)
        columns = list(procedure_class.DATA_COLUMNS)
        self.area = DockArea(self)
        self.views: list[BaseView] = []
        self.docks: list[Dock] = []
        previous = None
        for n, spec in enumerate(self.specs):
            kind = spec.get("kind", "xy")
            view = MapView(spec) if kind == "map" else TracesView(spec) if kind == "traces" else XYView(spec, columns)
            dock = Dock(spec["title"], size=(700 if kind == "map" else 400, 300), closable=False)
            dock.addWidget(view)
            # two docks side by side, a third below them
            if previous is None:
                self.area.addDock(dock)
            elif n == 1:
                self.area.addDock(dock, "right", previous)
            else:
                self.area.addDock(dock, "bottom")
            previous = dock
            self.views.append(view)
            self.docks.append(dock)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.area)
        self.runs: list[RunViews] = []
        self.selected: RunViews | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh_live)
        self.timer.start(REFRESH_MS)

    def view(self, title_part: str) -> BaseView:
        """The first view whose title contains ``title_part``."""
        return next(v for v in self.views if title_part.lower() in v.spec["title"].lower())

    @property
    def current(self) -> RunViews | None:
        """The run the map, traces and readouts show: the selected one, else the latest shown."""
        if self.selected in self.runs:
            return self.selected
        return self.runs[-1] if self.runs else None

    # ---------------------------------------------------------------- PyMeasure's TabWidget API
    def new_curve(self, results, color=pg.intColor(0), **kwargs) -> RunViews:
        return RunViews(self, results, color)

    def load(self, run: RunViews) -> None:
        if run not in self.runs:
            self.runs.append(run)
        self.redraw_all()

    def remove(self, run: RunViews) -> None:
        if run in self.runs:
            self.runs.remove(run)
        for view in self.views:
            view.clear(run)
        self.redraw_all()

    def set_color(self, run: RunViews, color) -> None:
        run.set_color(color)

    def select(self, results) -> None:
        """Show ``results`` as the current run (the browser's selection)."""
        self.selected = next((r for r in self.runs if r.results is results), None)
        self.redraw_all()

    # ---------------------------------------------------------------- drawing
    def redraw_all(self) -> None:
        for run in list(self.runs):
            self.refresh(run, force=True)

    def refresh_live(self) -> None:
        for run in list(self.runs):
            if getattr(run.results, "live", False):
                self.refresh(run)

    def refresh(self, run: RunViews, force: bool = False) -> None:
        if run not in self.runs:
            return
        try:
            frame = run.results.data
        except Exception as exc:  # noqa: BLE001 - a run file gone missing must not stop the window
            log.debug("no rows for %s: %s", run.results.data_filename, exc)
            return
        if len(frame) == run.n_rows and not force:
            return
        run.n_rows = len(frame)
        current = run is self.current
        for view in self.views:
            try:
                view.draw(run, frame, current)
            except Exception:  # noqa: BLE001 - one view's problem must not blank the others
                log.exception("view %r could not draw %s", view.spec.get("title"), run.results.data_filename)

    def set_analysis(self, results, result) -> None:
        run = next((r for r in self.runs if r.results is results), None)
        if run is None:
            return
        run.analysis = result
        if run is self.current:
            for view in self.views:
                view.set_analysis(run, result)
        self.refresh(run, force=True)
