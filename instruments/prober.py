"""Prober role on a FormFactor Velox prober (PyMeasure's ``Velox`` driver, Velox command set).

The safe state of a prober is *separated*: the chuck at separation height, probes off the pads.
``off()`` moves there. ``move_to_die`` separates first, so probes never drag across a wafer.
"""

from __future__ import annotations

from typing import Any

from .base import OffStep, RoleBase


class VeloxProber(RoleBase):
    """Prober role on FormFactor Velox."""

    role = "prober"

    def __init__(
        self, driver: Any, *, resource: str = "", driver_name: str = "", velocity_percent: float = 100.0
    ) -> None:
        super().__init__(driver, resource=resource, limits=None, driver_name=driver_name)
        if not 0.1 <= velocity_percent <= 100:
            raise ValueError(f"velocity_percent must be from 0.1 to 100, got {velocity_percent!r}")
        self.velocity_percent = float(velocity_percent)
        self.contacted = False

    def move_to_die(self, column: int, row: int, subsite: int | None = None) -> None:
        """Separate, then step to die (``column``, ``row``) of the wafer map (and ``subsite``)."""
        for name, value in (("column", column), ("row", row), ("subsite", subsite)):
            if value is not None and int(value) != value:
                raise ValueError(f"{name} must be an integer, got {value!r}")
        self.separate()
        target = f"{int(column)} {int(row)}" + ("" if subsite is None else f" {int(subsite)}")
        self.driver.ask(f"StepNextDie {target}")
        self.settings.update(die=[int(column), int(row)], subsite=subsite)

    def contact(self) -> None:
        """Raise the chuck to contact height."""
        self.contacted = True  # from the first byte on, the probes may touch
        self.driver.chuck.move_contact(self.velocity_percent)
        self.settings["contacted"] = True

    def separate(self) -> None:
        """Lower the chuck to separation height."""
        self.driver.chuck.move_separation(self.velocity_percent)
        self.contacted = False
        self.settings["contacted"] = False

    def error_queue(self) -> list[tuple[int, str]]:
        """Velox reports an error with every reply (raised by the driver), it keeps no queue."""
        return []

    def _off_steps(self) -> list[OffStep]:
        return [
            (
                "move chuck to separation (MoveChuckSeparation)",
                lambda: self.driver.chuck.move_separation(self.velocity_percent),
            )
        ]

    def _after_off(self, ok: bool) -> None:
        if ok:
            self.contacted = False
            self.settings["contacted"] = False
