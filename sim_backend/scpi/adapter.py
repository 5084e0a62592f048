"""A PyMeasure adapter that talks to a virtual instrument in-process (no VISA, no sockets).

    from pymeasure.instruments.keithley import Keithley2450
    smu = Keithley2450(VirtualAdapter(bench.instruments["GPIB0::18::INSTR"]))

Each write is one program message handed to ``instrument.handle``; its reply (if any) waits in an
output queue for the next read, as in a real instrument's output buffer. Reading with nothing
queued raises :class:`TimeoutError` (and queues -420, as the instrument would report). ``exchanges``
counts the messages written, for tests that bound the number of round trips.
"""

from __future__ import annotations

from collections import deque

from pymeasure.adapters import Adapter


class VirtualAdapter(Adapter):
    """PyMeasure adapter contract: ``_write``, ``_read``, ``_write_bytes``, ``_read_bytes``."""

    def __init__(self, instrument, **kwargs):
        super().__init__(**kwargs)
        self.instrument = instrument
        self.connection = None
        self._replies: deque[bytes] = deque()
        self.exchanges = 0
        self.log_messages: list[str] = []

    def _write(self, command: str, **kwargs) -> None:
        self._write_bytes(command.encode("latin-1"))

    def _write_bytes(self, content: bytes, **kwargs) -> None:
        if self._replies:
            self._replies.clear()
            self.instrument.note_query_interrupted()
        message = content.decode("latin-1")
        for line in message.replace("\r\n", "\n").split("\n"):
            if not line.strip():
                continue
            self.exchanges += 1
            self.log_messages.append(line)
            reply = self.instrument.handle(line)
            if reply is None:
                continue
            if isinstance(reply, str):
                reply = reply.encode("latin-1")
            self._replies.append(reply + b"\n")

    def _read(self, **kwargs) -> str:
        return self._read_bytes(-1).decode("latin-1").rstrip("\r\n")

    def _read_bytes(self, count: int = -1, break_on_termchar: bool = False, **kwargs) -> bytes:
        if not self._replies:
            self.instrument.note_query_unterminated()
            raise TimeoutError(f"{self.instrument.model}: no reply pending (query unterminated)")
        data = self._replies[0]
        if count is None or count < 0 or count >= len(data):
            self._replies.popleft()
            return data
        self._replies[0] = data[count:]
        return data[:count]

    def flush_read_buffer(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        self._replies.clear()

    def __repr__(self) -> str:
        return f"<VirtualAdapter {self.instrument.model} {self.instrument.resource_name}>"
