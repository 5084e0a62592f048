"""SwitchMatrix role on a Keithley 2750 with a 7709 matrix card.

Two wirings, as the bench file says: one relay per cell (``cell_channels``, or the ``array``
shorthand: cell (r, c) on 7709 crosspoint row r+1, column c+1, as the simulated bench is wired), or
one relay per array line (``row_channels`` join the source bus - SMU and pulse generator - to each
array row, ``col_channels`` the sense bus - scope - to each column). Connecting cells opens
everything, then closes their channels together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .base import OffStep, RoleBase
from .safety import SafetyError


class Keithley2750MatrixRole(RoleBase):
    """SwitchMatrix on a Keithley 2750 mainframe with matrix card(s).

    row_channels[i]: channel closed to reach array row i; col_channels[j]: for column j.
    outputs_on: optional callable returning the names of source outputs that are on; switching
        is refused while any is (hot switching welds relays and sends spikes into cells).
    """

    role = "matrix"

    def __init__(
        self,
        driver: Any,
        *,
        row_channels: Sequence[int] = (),
        col_channels: Sequence[int] = (),
        cell_channels: Sequence[Sequence[int]] = (),
        resource: str = "",
        driver_name: str = "",
        outputs_on: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__(driver, resource=resource, limits=None, driver_name=driver_name)
        self.row_channels = [int(c) for c in row_channels]
        self.col_channels = [int(c) for c in col_channels]
        self.cell_channels = [[int(c) for c in row] for row in cell_channels]
        if self.cell_channels:
            if self.row_channels or self.col_channels:
                raise ValueError("give either cell_channels or row_channels + col_channels, not both")
            widths = {len(row) for row in self.cell_channels}
            if len(widths) != 1 or 0 in widths:
                raise ValueError("cell_channels must be a non-empty rectangular table, one channel per cell")
            self.rows, self.cols = len(self.cell_channels), widths.pop()
        elif self.row_channels and self.col_channels:
            self.rows, self.cols = len(self.row_channels), len(self.col_channels)
        else:
            raise ValueError(
                "give cell_channels (one relay per cell) or row_channels and col_channels (one relay per array line)"
            )
        self.outputs_on = outputs_on
        self._connected: list[tuple[int, int]] = []

    def connect(self, cells: Sequence[tuple[int, int]]) -> None:
        """Connect the instruments to ``cells`` [(row, col), ...] (zero-based), nothing else.

        With one relay per array line (row_channels/col_channels) the cells must form a full
        rectangle (every row with every column), because closing rows and columns of a crossbar
        connects every cell at their intersections. With one relay per cell any set works."""
        cells = sorted({(int(r), int(c)) for r, c in cells})
        if not cells:
            raise ValueError("cells: give at least one (row, col)")
        for r, c in cells:
            if not (0 <= r < self.rows and 0 <= c < self.cols):
                raise ValueError(
                    f"cell ({r}, {c}) is outside the {self.rows}x{self.cols} array "
                    f"(rows 0-{self.rows - 1}, cols 0-{self.cols - 1})"
                )
        rows = sorted({r for r, _ in cells})
        cols = sorted({c for _, c in cells})
        if self.cell_channels:
            channels = [self.cell_channels[r][c] for r, c in cells]
        elif len(cells) != len(rows) * len(cols):
            extra = sorted({(r, c) for r in rows for c in cols} - set(cells))
            raise ValueError(
                f"cells {cells} would also connect {extra}: closing their rows and columns "
                "connects every intersection; connect a full rectangle or one cell at a time"
            )
        else:
            channels = [self.row_channels[r] for r in rows] + [self.col_channels[c] for c in cols]
        self._refuse_hot_switching("connect")
        self.driver.open_all()
        self._connected = []
        self.driver.close_channels(channels)
        self._connected = list(cells)
        self.settings["connected_cells"] = [list(cell) for cell in self._connected]

    def disconnect_all(self) -> None:
        """Open every channel of the mainframe."""
        self._refuse_hot_switching("disconnect_all")
        self.driver.open_all()
        self._connected = []
        self.settings["connected_cells"] = []

    def connected(self) -> list[tuple[int, int]]:
        """The cells connected through this role."""
        return list(self._connected)

    def _refuse_hot_switching(self, what: str) -> None:
        on = self.outputs_on() if self.outputs_on else []
        if on:
            raise SafetyError(
                f"matrix: {what} refused while source outputs are on ({', '.join(on)}); "
                "turn them off first; nothing was sent"
            )

    def _off_steps(self) -> list[OffStep]:
        return [("open all channels (:ROUTe:OPEN:ALL)", self.driver.open_all)]

    def _after_off(self, ok: bool) -> None:
        if ok:
            self._connected = []
            self.settings["connected_cells"] = []

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap.update(
            rows=self.rows,
            cols=self.cols,
            row_channels=self.row_channels,
            col_channels=self.col_channels,
            cell_channels=self.cell_channels,
        )
        return snap
