"""The one parameter error of the project: a value that cannot be used, naming the parameter."""

from __future__ import annotations


class ParameterError(ValueError):
    """A parameter value that cannot be used. ``parameter`` is the procedure attribute name
    (e.g. ``"stop_voltage_V"``); the message names it and the allowed range. Raised by procedures'
    validation, by the runner for values typed on the command line or in a campaign, and by plugins
    (subclass it)."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.reason = message
        super().__init__(f"{parameter}: {message}")
