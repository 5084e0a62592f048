"""SCPI error codes, the exception a command handler raises, and the instrument's error queue.

A handler raises :class:`ScpiError`; the engine catches it, queues the entry and sends no reply, as a
real instrument does. The queue is first-in first-out and bounded; when it overflows the newest entry
is replaced by -350 "Queue overflow" (IEEE 488.2 / SCPI-99 section 21.8).
"""

from __future__ import annotations

from collections import deque

#: Standard SCPI-99 messages for the codes the engine and the models use.
STANDARD_MESSAGES: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -103: "Invalid separator",
    -104: "Data type error",
    -105: "GET not allowed",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -112: "Program mnemonic too long",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -120: "Numeric data error",
    -121: "Invalid character in number",
    -123: "Exponent too large",
    -124: "Too many digits",
    -128: "Numeric data not allowed",
    -131: "Invalid suffix",
    -134: "Suffix too long",
    -138: "Suffix not allowed",
    -141: "Invalid character data",
    -144: "Character data too long",
    -148: "Character data not allowed",
    -151: "Invalid string data",
    -158: "String data not allowed",
    -160: "Block data error",
    -161: "Invalid block data",
    -168: "Block data not allowed",
    -178: "Expression data not allowed",
    -200: "Execution error",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -223: "Too much data",
    -224: "Illegal parameter value",
    -225: "Out of memory",
    -230: "Data corrupt or stale",
    -241: "Hardware missing",
    -250: "Mass storage error",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}

# Standard Event Status Register bits (IEEE 488.2 section 11.5.1).
ESR_OPC = 1
ESR_QYE = 4
ESR_DDE = 8
ESR_EXE = 16
ESR_CME = 32
ESR_PON = 128


def esr_bit_for(code: int) -> int:
    """Return the Standard Event Status Register bit an error code sets (0 for none)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -399 <= code <= -300 or code > 0:
        return ESR_DDE
    if -499 <= code <= -400:
        return ESR_QYE
    return 0


class ScpiError(Exception):
    """Raised by a command handler: queue ``code`` (with an optional detail) and send no reply."""

    def __init__(self, code: int, detail: str | None = None):
        self.code = int(code)
        self.detail = detail
        super().__init__(f"{code},{STANDARD_MESSAGES.get(code, 'Error')}" + (f"; {detail}" if detail else ""))


class ErrorQueue:
    """Bounded FIFO of ``(code, message)`` entries, as read by ``SYST:ERR?``."""

    def __init__(self, size: int = 10):
        if size < 2:
            raise ValueError(f"error queue size must be >= 2, got {size}")
        self.size = size
        self._entries: deque[tuple[int, str]] = deque()

    def push(self, code: int, message: str) -> None:
        """Append an entry; on overflow the last slot becomes -350 "Queue overflow"."""
        if len(self._entries) >= self.size:
            self._entries[-1] = (-350, STANDARD_MESSAGES[-350])
            return
        self._entries.append((int(code), message))

    def pop(self) -> tuple[int, str]:
        """Remove and return the oldest entry, or ``(0, "No error")`` when empty."""
        if self._entries:
            return self._entries.popleft()
        return 0, STANDARD_MESSAGES[0]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(list(self._entries))
