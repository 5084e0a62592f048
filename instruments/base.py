"""What all role implementations share: identity, error queue, a never-raising ``off()``, snapshots.

A role wraps one PyMeasure driver instance. It never sends anything when constructed (so tests
can script the exact dialogue), reads ``*IDN?`` once when asked, and records every setting it
programs so ``snapshot()`` can report them without another round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .safety import InstrumentError, Limits

log = logging.getLogger(__name__)

#: one step of an instrument's way to its safe state: (what it does, the call that does it)
OffStep = tuple[str, Callable[[], Any]]


class RoleBase:
    """Base of every role implementation.

    driver: the PyMeasure instrument (real adapter, or ``expected_protocol`` in tests).
    resource: the VISA resource string, for snapshots and messages.
    limits: the bench safety limits of this output (None for roles without an output).
    driver_name: the registry name from the bench file ("keithley2450", ...).
    """

    role: str = ""
    #: what the role last programmed in full and confirmed, for a model that then sends only what changes
    #: (None: nothing known; off(), close() and any failure while programming forget it)
    _programmed: Any = None

    def __init__(self, driver: Any, *, resource: str = "", limits: Limits | None = None, driver_name: str = "") -> None:
        self.driver = driver
        self.resource = resource
        self.limits = limits
        self.driver_name = driver_name
        self._identity: str | None = None
        #: settings as programmed through this role (plain data), reported by snapshot()
        self.settings: dict[str, Any] = {}

    # ----------------------------------------------------------------- identity and errors
    @property
    def identity(self) -> str:
        """The instrument's ``*IDN?`` reply, read once."""
        if self._identity is None:
            self._identity = self._read_identity()
        return self._identity

    def _read_identity(self) -> str:
        return str(self.driver.ask("*IDN?")).strip()

    def error_queue(self) -> list[tuple[int, str]]:
        """Read and empty the instrument's error queue: [(code, message), ...]."""
        return [(int(code), str(message).strip().strip('"')) for code, message in self.driver.check_errors()]

    def _raise_on_errors(self, context: str) -> None:
        errors = self.error_queue()
        if errors:
            listed = "; ".join(f"{code} {message}" for code, message in errors)
            raise InstrumentError(f"{self.role} ({self.resource}) reported after {context}: {listed}")

    # ----------------------------------------------------------------- shutdown path
    def _off_steps(self) -> list[OffStep]:
        """The commands that bring this instrument to its safe state, in order."""
        return []

    def off(self) -> list[str]:
        """Bring the instrument to its safe state. Never raises.

        Every step is tried even if an earlier one failed (a lost connection makes them all fail,
        and each failure is reported). Returns the problems met, empty when all went well.
        """
        self._programmed = None  # after a shutdown, the next configuration is sent in full
        problems: list[str] = []
        for what, step in self._off_steps():
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - the shutdown path must not raise
                message = f"{self.role} ({self.resource}): {what} failed: {type(exc).__name__}: {exc}"
                log.error(message)
                problems.append(message)
        self._after_off(ok=not problems)
        return problems

    def _after_off(self, ok: bool) -> None:
        """Update the role's own state after off(); ``ok`` is False if a step failed."""

    def close(self) -> None:
        """Close the connection (no commands sent). Never raises."""
        self._programmed = None
        try:
            self.driver.adapter.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("%s (%s): closing the connection failed: %s", self.role, self.resource, exc)

    # ----------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        """Identity, resource and present settings (as programmed through this role), plain data."""
        try:
            identity = self.identity
        except Exception as exc:  # noqa: BLE001 - a snapshot must not break a run's shutdown
            identity = f"unknown ({type(exc).__name__}: {exc})"
        return {
            "role": self.role,
            "driver": self.driver_name,
            "model_class": type(self.driver).__name__,
            "resource": self.resource,
            "identity": identity,
            "limits": self.limits.as_dict() if self.limits else None,
            "settings": _plain(self.settings),
        }


def _plain(value: Any) -> Any:
    """Settings as JSON-able plain data (tuples -> lists, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


class OutputRoleBase(RoleBase):
    """A role with a source output on one channel (SMU, pulse generator): tracks whether the output is,
    or may be, on (an unknown state after a failure counts as on) and reports it in the snapshot."""

    def __init__(self, driver: Any, *, channel: Any = None, **kwargs: Any) -> None:
        super().__init__(driver, **kwargs)
        self.channel = channel
        #: True when the output is, or may be, on
        self.output_is_on = False

    def _after_off(self, ok: bool) -> None:
        if ok:
            self.output_is_on = False
            self.settings["output"] = False

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap["channel"] = self.channel
        snap["output_is_on"] = self.output_is_on
        return snap
