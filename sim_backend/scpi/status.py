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


class StatusModel:
    """Mixin: an instrument's operation, questionable (and measurement) registers and their
    status-byte summaries (bit 0 measurement, bit 3 questionable, bit 7 operation).

    ``status_registers`` names the registers (``OPER``, ``QUES``, ``MEAS``) as the short forms of
    the ``:STATus:{...}`` header's alternatives, so the shared handlers below find them.
    """

    status_registers: tuple[str, ...] = ("OPER", "QUES")
    status_int: str = "%d"

    def _init_registers(self) -> None:
        self.registers = {name: EventRegister() for name in self.status_registers}

    def _status_extra(self) -> int:
        regs = self.registers
        stb = 1 if "MEAS" in regs and regs["MEAS"].summary else 0
        if regs["QUES"].summary:
            stb |= 8
        if regs["OPER"].summary:
            stb |= 128
        return stb

    def _clear_status_extra(self) -> None:
        for reg in self.registers.values():
            reg.clear_event()


# Handlers for the :STATus rows; each model binds them to its own header with @scpi (a fresh
# function per model, since @scpi records the header on the function).


def enable_command():
    def set_enable(self, p):
        self.registers[p.alt[0]].enable = p.integer(0, lo=0, hi=65535, name="enable mask")

    return set_enable


def enable_query():
    def get_enable(self, p):
        return self.status_int % self.registers[p.alt[0]].enable

    return get_enable


def event_query():
    def get_event(self, p):
        return self.status_int % self.registers[p.alt[0]].read_event()

    return get_event


def condition_query():
    def get_condition(self, p):
        return self.status_int % self.registers[p.alt[0]].condition

    return get_condition


def preset_command():
    def preset(self, p):
        for reg in self.registers.values():
            reg.preset()

    return preset
