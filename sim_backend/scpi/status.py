"""SCPI status registers (SCPI-99 volume 1, section 9): condition, event, enable, transitions.

A register's *condition* follows the instrument's state; a rising (or, with the negative transition
filter, a falling) condition bit latches into the *event* register, which a query reads and clears;
the *summary* (event AND enable) feeds a bit of the IEEE 488.2 status byte.
"""

from __future__ import annotations


class EventRegister:
    """One 16-bit status register set (condition / event / enable, PTR / NTR filters)."""

    def __init__(self, ptr: int = 0x7FFF, ntr: int = 0):
        self.condition = 0
        self.event = 0
        self.enable = 0
        self.ptr = ptr
        self.ntr = ntr

    def set(self, bits: int) -> None:
        """Condition bits go true; rising ones latch into the event register (PTR)."""
        rising = bits & ~self.condition
        self.condition |= bits
        self.event |= rising & self.ptr

    def clear(self, bits: int) -> None:
        """Condition bits go false; falling ones latch into the event register (NTR)."""
        falling = bits & self.condition
        self.condition &= ~bits
        self.event |= falling & self.ntr

    def pulse(self, bits: int) -> None:
        """A momentary event: latched, no lasting condition."""
        self.set(bits)
        self.clear(bits)

    def read_event(self) -> int:
        """The event register, cleared by the read (as ``...:EVENt?`` does)."""
        value, self.event = self.event, 0
        return value

    @property
    def summary(self) -> bool:
        return bool(self.event & self.enable)

    def preset(self) -> None:
        """``:STATus:PRESet``: enables cleared, default transition filters."""
        self.enable = 0
        self.ptr = 0x7FFF
        self.ntr = 0

    def clear_event(self) -> None:
        self.event = 0
