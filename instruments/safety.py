"""Safety rules shared by every role: limits checked before any command is sent.

At a probe station the software is the last line of defence for a device worth a week of
fabrication. Every role checks the bench limits *before* it writes anything, so a refused request
leaves the instrument exactly as it was (nothing half-programmed, nothing in the error queue).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


class SafetyError(RuntimeError):
    """A request refused by the software safety rules; nothing was sent to the instrument."""


class InstrumentError(RuntimeError):
    """The instrument reported an error (its error queue was not empty after a command)."""


@dataclass(frozen=True)
class Limits:
    """Safety limits of one output, from the bench file.

    max_voltage_v: largest |V| the output may apply to the device (V), source level, sweep point,
        pulse level or arbitrary-waveform sample alike.
    max_current_a: largest |I| the output may force or allow as compliance (A); ``None`` for outputs
        that cannot limit current (pulse generators).
    """

    max_voltage_v: float
    max_current_a: float | None = None

    def check_voltage(self, value_v: float, what: str = "voltage") -> float:
        """Return ``value_v`` as float if |value_v| <= max_voltage_v, else raise SafetyError."""
        value_v = _finite(value_v, what, "V")
        if abs(value_v) > self.max_voltage_v:
            raise SafetyError(
                f"{what} {value_v:g} V exceeds the bench limit of {self.max_voltage_v:g} V "
                f"(allowed: -{self.max_voltage_v:g} V to {self.max_voltage_v:g} V); nothing was sent"
            )
        return value_v

    def check_current(self, value_a: float, what: str = "current") -> float:
        """Return ``value_a`` as float if |value_a| <= max_current_a, else raise SafetyError."""
        value_a = _finite(value_a, what, "A")
        if self.max_current_a is None:
            raise SafetyError(f"{what}: this output has no current limit configured; nothing was sent")
        if abs(value_a) > self.max_current_a:
            raise SafetyError(
                f"{what} {value_a:g} A exceeds the bench limit of {self.max_current_a:g} A "
                f"(allowed: -{self.max_current_a:g} A to {self.max_current_a:g} A); nothing was sent"
            )
        return value_a

    def check_compliance_current(self, value_a: float) -> float:
        """A compliance current must be > 0 and within the bench limit."""
        value_a = _finite(value_a, "compliance current", "A")
        if value_a <= 0:
            raise SafetyError(f"compliance current must be > 0 A, got {value_a:g} A; nothing was sent")
        return self.check_current(value_a, "compliance current")

    def check_compliance_voltage(self, value_v: float) -> float:
        """A compliance voltage must be > 0 and within the bench voltage limit."""
        value_v = _finite(value_v, "compliance voltage", "V")
        if value_v <= 0:
            raise SafetyError(f"compliance voltage must be > 0 V, got {value_v:g} V; nothing was sent")
        return self.check_voltage(value_v, "compliance voltage")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(value: float, what: str, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SafetyError(f"{what} must be a number in {unit}, got {value!r}; nothing was sent") from None
    if not math.isfinite(number):
        raise SafetyError(f"{what} must be finite, got {value!r}; nothing was sent")
    return number
