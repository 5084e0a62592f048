"""Keithley 2750 with a 7709 6x8 matrix card: closing a set of crosspoints at once.

PyMeasure's ``Keithley2750`` closes one channel at a time. Connecting a cell of an array closes
one crosspoint for its row and one for its column together, after the Model 2750 User's Manual:
``:ROUTe:MULTiple:CLOSe (@<clist>)``, ``:ROUTe:MULTiple:CLOSe?`` (every closed channel),
``:ROUTe:OPEN:ALL``. 7709 channel numbers are SCH: slot S, crosspoint CH = (row - 1) * 8 + column,
so slot 1 row 2 column 3 is 111.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymeasure.instruments.keithley.keithley2750 import Keithley2750

from ._attributes import ReservedNamesAsSet

MATRIX_ROWS, MATRIX_COLUMNS = 6, 8


def crosspoint(slot: int, row: int, column: int) -> int:
    """7709 channel number of matrix ``row`` (1-6) and ``column`` (1-8) in ``slot`` (1-5)."""
    if not (1 <= slot <= 5 and 1 <= row <= MATRIX_ROWS and 1 <= column <= MATRIX_COLUMNS):
        raise ValueError(
            f"7709 crosspoint needs slot 1-5, row 1-{MATRIX_ROWS}, column 1-{MATRIX_COLUMNS}; "
            f"got slot {slot}, row {row}, column {column}"
        )
    return slot * 100 + (row - 1) * MATRIX_COLUMNS + column


def channel_list(channels: Sequence[int]) -> str:
    """SCPI channel list '(@101,111)'."""
    return "(@" + ",".join(str(int(c)) for c in channels) + ")"


def parse_channel_list(reply: str) -> list[int]:
    """'(@101,113)' -> [101, 113]; '(@)' -> []. Ranges '(@101:103)' are expanded."""
    text = reply.strip().removeprefix("(").removesuffix(")").removeprefix("@")
    channels: list[int] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        first, _, last = item.partition(":")
        channels.extend(range(int(first), int(last or first) + 1))
    return sorted(channels)


class Keithley2750Matrix(ReservedNamesAsSet, Keithley2750):
    """Keithley 2750 multimeter/switch system driving matrix cards."""

    @property
    def closed_multiple(self) -> list[int]:
        """Get every closed channel (measurement and non-measurement), sorted (list of int)."""
        return parse_channel_list(self.ask(":ROUTe:MULTiple:CLOSe?"))

    def close_channels(self, channels: Sequence[int]) -> None:
        """Close the given channels together, leaving others as they are."""
        if not channels:
            raise ValueError("channels: give at least one channel to close")
        self.write(f":ROUTe:MULTiple:CLOSe {channel_list(channels)}")

    def open_channels(self, channels: Sequence[int]) -> None:
        """Open the given channels."""
        if not channels:
            raise ValueError("channels: give at least one channel to open")
        self.write(f":ROUTe:MULTiple:OPEN {channel_list(channels)}")
