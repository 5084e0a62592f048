"""The parameter inputs of the window: numbers typed with SI prefixes, bad input marked as typed.

- :class:`QuantityInput` (float and integer parameters) is a line edit, not a spin box: "1500 mV" is
  1.5 V, "20 uA" is 20 µA, "2k" cycles is 2000. What is typed is read with the same converter as
  ``tspcm run --set`` (:func:`tspcm_lab.runner.convert_value`), against the parameter's unit and range.
  A value it cannot use (out of range, wrong unit, not a number) is **marked** (red field, the reason
  under it) and kept exactly as typed; nothing is rounded, clamped or replaced. Queue then refuses,
  naming the parameter. Values are shown with an SI prefix ("10 µA", "200 ns").
- :class:`InputsPanel` lays the inputs out in the procedure's parameter groups (see
  :mod:`tspcm_lab.gui.viewspec`), the rarely changed ones folded, labels wrapped instead of cut.
"""

from __future__ import annotations

from typing import Any

from pymeasure.display.inputs import BooleanInput, ListInput, StringInput, VectorInput
from pymeasure.display.Qt import QtCore, QtWidgets
from pymeasure.experiment import parameters as pm

from tspcm_lab import runner
from tspcm_lab.gui.viewspec import parameter_groups
from tspcm_lab.si import format_parameter

INVALID_STYLE = 'QLineEdit[invalid="true"] { background: #ffe4e4; border: 1px solid #c00000; }'


class QuantityInput(QtWidgets.QLineEdit):
    """A float or integer parameter typed as text with an optional SI-prefixed unit."""

    valueChanged = QtCore.Signal()

    def __init__(self, parameter: pm.Parameter, key: str, parent=None):
        super().__init__(parent)
        self.key = key
        self._parameter = parameter
        self._value: Any = None
        self._shown = ""
        self.error = ""  #: why the text cannot be used ("" when it can)
        self.setProperty("invalid", False)
        self.setStyleSheet(INVALID_STYLE)
        self.textChanged.connect(self._edited)  # typed, pasted or set: checked and marked alike
        self.set_parameter(parameter)

    @property
    def units(self) -> str:
        return getattr(self._parameter, "units", None) or ""

    def set_parameter(self, parameter: pm.Parameter) -> None:
        self._parameter = parameter
        allowed = runner.allowed_text(parameter)
        hint = f"; SI prefixes allowed, e.g. 1500 m{self.units} or 20 u{self.units}" if self.units else ""
        self.setToolTip(f"{parameter.name}: {allowed}{hint}")
        self.setPlaceholderText(allowed)
        if parameter.is_set():
            self.setValue(parameter.value)

    def setValue(self, value: Any) -> None:  # noqa: N802 - the Qt/PyMeasure spelling
        """Show ``value`` (kept exactly: reading back an unedited field gives this very value)."""
        self._value = value
        self._shown = format_parameter(value, self.units)
        self.setText(self._shown)
        self._mark("")
        self.valueChanged.emit()

    def value(self) -> Any:
        """The value: the one set when the text is unchanged, else the text converted; raises
        ``runner.ParameterInputError`` (naming the parameter and the allowed range) otherwise."""
        text = self.text().strip()
        if text == self._shown and self._value is not None:
            return self._value
        return runner.convert_value(self._parameter, self.key, text)

    def check(self) -> str:
        """Mark the field if its text cannot be used; the reason, or ""."""
        try:
            self.value()
        except ValueError as exc:
            self._mark(runner.parameter_error_text(exc))
        else:
            self._mark("")
        return self.error

    def _edited(self, _text: str) -> None:
        self.check()
        self.valueChanged.emit()

    def _mark(self, error: str) -> None:
        self.error = error
        if bool(self.property("invalid")) != bool(error):
            self.setProperty("invalid", bool(error))
            self.style().unpolish(self)
            self.style().polish(self)
        self.update()


def make_input(parameter: pm.Parameter, key: str) -> QtWidgets.QWidget:
    if isinstance(parameter, (pm.FloatParameter, pm.IntegerParameter)):
        return QuantityInput(parameter, key)
    if isinstance(parameter, pm.BooleanParameter):
        return BooleanInput(parameter)
    if isinstance(parameter, pm.ListParameter):
        return ListInput(parameter)
    if isinstance(parameter, pm.VectorParameter):
        return VectorInput(parameter)
    return StringInput(parameter)


class Section(QtWidgets.QWidget):
    """A titled group of inputs that folds."""

    def __init__(self, title: str, folded: bool, parent=None):
        super().__init__(parent)
        self.title = title
        self.button = QtWidgets.QToolButton(self)
        self.button.setText(title)
        self.button.setCheckable(True)
        self.button.setChecked(not folded)
        self.button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.button.toggled.connect(self.set_open)
        self.body = QtWidgets.QWidget(self)
        self.form = QtWidgets.QFormLayout(self.body)
        self.form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapAllRows)  # label above its field
        self.form.setContentsMargins(8, 0, 0, 4)
        self.form.setVerticalSpacing(3)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.button)
        box.addWidget(self.body)
        self.set_open(not folded)

    @property
    def is_open(self) -> bool:
        return self.button.isChecked()

    def set_open(self, is_open: bool) -> None:
        self.button.setChecked(is_open)
        self.button.setArrowType(QtCore.Qt.ArrowType.DownArrow if is_open else QtCore.Qt.ArrowType.RightArrow)
        self.body.setVisible(is_open)


class InputsPanel(QtWidgets.QWidget):
    """Every input of a procedure, grouped (see the module docstring). Inputs are attributes named by
    parameter key (``panel.stop_voltage_V``), as in PyMeasure's InputsWidget."""

    changed = QtCore.Signal()

    def __init__(self, procedure_class: type, keys: list[str], parent=None):
        super().__init__(parent)
        self._procedure_class = procedure_class
        self._inputs = list(keys)
        objects = procedure_class().parameter_objects()
        self.sections: dict[str, Section] = {}
        self.labels: dict[str, QtWidgets.QLabel] = {}
        self.errors: dict[str, QtWidgets.QLabel] = {}
        self.section_of: dict[str, Section] = {}
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        for title, members, folded in parameter_groups(procedure_class, self._inputs):
            section = Section(f"{title} ({len(members)})" if folded else title, folded, self)
            self.sections[title] = section
            box.addWidget(section)
            for key in members:
                parameter = objects[key]
                widget = make_input(parameter, key)
                setattr(self, key, widget)
                self.section_of[key] = section
                error = QtWidgets.QLabel(section.body)
                error.setWordWrap(True)
                error.setStyleSheet("color: #b00000; font-size: 8pt;")
                error.hide()
                self.errors[key] = error
                field = QtWidgets.QWidget(section.body)
                column = QtWidgets.QVBoxLayout(field)
                column.setContentsMargins(0, 0, 0, 0)
                column.setSpacing(0)
                column.addWidget(widget)
                column.addWidget(error)
                if isinstance(widget, BooleanInput):
                    section.form.addRow(field)
                else:
                    label = QtWidgets.QLabel(parameter.name + ":", section.body)
                    label.setWordWrap(True)
                    label.setToolTip(f"{key}: {runner.allowed_text(parameter)}")
                    self.labels[key] = label
                    section.form.addRow(label, field)
                self._connect(key, widget)
        box.addStretch(1)

    def _connect(self, key: str, widget: QtWidgets.QWidget) -> None:
        if isinstance(widget, QuantityInput):
            widget.valueChanged.connect(lambda key=key: self._show_error(key))
        elif isinstance(widget, BooleanInput):
            widget.toggled.connect(lambda _checked: self.changed.emit())
        elif isinstance(widget, ListInput):
            widget.currentIndexChanged.connect(lambda _index: self.changed.emit())
        elif isinstance(widget, QtWidgets.QLineEdit):
            widget.textChanged.connect(lambda _text: self.changed.emit())

    def _show_error(self, key: str) -> None:
        widget, label = getattr(self, key), self.errors[key]
        label.setText(widget.error)
        label.setVisible(bool(widget.error))
        if widget.error:
            self.section_of[key].set_open(True)  # never hide a refused value in a folded group
        self.changed.emit()

    # ---------------------------------------------------------------- PyMeasure's InputsWidget API
    def invalid(self) -> list[tuple[str, str]]:
        """(key, reason) of every field whose text cannot be used (each is marked)."""
        out = []
        for key in self._inputs:
            widget = getattr(self, key)
            if isinstance(widget, QuantityInput) and widget.check():
                self._show_error(key)
                out.append((key, widget.error))
        return out

    def get_procedure(self):
        """A procedure with the values in the fields; ``runner.ParameterInputError`` for the first
        field that cannot be used (every bad field is marked)."""
        bad = self.invalid()
        if bad:
            key, reason = bad[0]
            raise runner.ParameterInputError(key, reason.removeprefix(f"{key}: "))
        procedure = self._procedure_class()
        values = {}
        for key in self._inputs:
            widget = getattr(self, key)
            values[key] = widget.value() if isinstance(widget, QuantityInput) else widget.parameter.value
        procedure.set_parameters(values)
        return procedure

    def set_parameters(self, parameter_objects) -> None:
        for key in self._inputs:
            if key in parameter_objects:
                getattr(self, key).set_parameter(parameter_objects[key])
                if key in self.errors:
                    self.errors[key].hide()
