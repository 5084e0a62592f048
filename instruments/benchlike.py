"""What a procedure may know about a bench: its roles, its limits, its wiring and its clock.

:class:`BenchLike` is the contract between the procedures (and their library) and whatever opened the
instruments (``tspcm_lab.bench.Bench`` in this project). Procedures read limits, series resistances and
the clock through it, never through a bench file's parsed tables, so they do not depend on how a bench
is configured or stored.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from instruments.clock import Clock

#: kinds of limit a bench states per output role
LimitKind = Literal["voltage", "current"]
LIMIT_KINDS: tuple[str, ...] = ("voltage", "current")


class BenchLike(Protocol):
    """An open bench, by role (``None`` for a role it lacks)."""

    roles: dict[str, Any]
    smu: Any
    pulse: Any
    scope: Any
    matrix: Any
    prober: Any

    @property
    def path(self) -> str:
        """Where the bench is described (the bench file), for messages."""

    @property
    def clock(self) -> Clock:
        """The clock the cell lives by: virtual on an in-process simulated bench, wall time elsewhere."""

    def limit(self, role: str, kind: str) -> tuple[float | None, str]:
        """(limit, where it is set) of ``role``: ``kind`` "voltage" (V) or "current" (A, compliance);
        limit None when the bench sets none."""

    def series_resistance_ohm(self, role: str = "smu") -> float:
        """Series resistance between ``role``'s output and the cell (Ohm; 0 when not stated)."""

    def sense_resistance_ohm(self) -> float:
        """The scope's sense resistor (Ohm; 0 without a scope)."""

    def all_off(self) -> list[str]: ...

    def poll_errors(self) -> list[tuple[str, int, str]]: ...
