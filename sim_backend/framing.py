"""Splitting a byte stream into IEEE 488.2 program messages, for the transports.

Both ways into the simulated bench (the PyVISA backend and the TCP server) receive bytes and hand the
virtual instruments one program message at a time, termination stripped. A message ends at a newline
("\\n"; a "\\r" just before it is dropped, so "\\r\\n" works too), or, on a bus with an END signal (GPIB
EOI, i.e. every VISA write with ``send_end``), at the end of the write.

A newline inside an IEEE 488.2 definite-length binary block (``#<n><length><bytes>``, e.g. an arbitrary
waveform upload) is data, not a terminator, so the framer skips such blocks by their declared length.
A ``#`` inside a quoted string is text. Bytes are decoded as Latin-1 (one character per byte, never
fails), so a binary block reaches the instrument unchanged as characters ``\\x00``-``\\xff``.

The framer holds at most ``max_message_bytes`` of an unfinished message: a peer that sends a longer
message (or declares a longer block) gets :class:`MessageTooLong`, so a 100 MB line without a terminator
cannot exhaust memory. Nothing here interprets the text beyond finding where a message ends.
"""

from __future__ import annotations

_NL = 0x0A
_CR = 0x0D
_HASH = 0x23
_QUOTES = (0x22, 0x27)
_DIGITS = range(0x30, 0x3A)


class MessageTooLong(ValueError):
    """An unfinished message grew past the framer's limit."""


class MessageFramer:
    """Incremental splitter: ``feed(bytes) -> [message, ...]``, ``end() -> [last message]``.

    ``max_message_bytes``: the longest message (bytes, terminator excluded) that is accepted; ``None``
    means unbounded (in-process use, where the caller already holds the data in memory).
    """

    def __init__(self, max_message_bytes: int | None = 16 * 1024 * 1024):
        if max_message_bytes is not None and max_message_bytes < 1:
            raise ValueError(f"max_message_bytes must be >= 1 or None, got {max_message_bytes!r}")
        self.max_message_bytes = max_message_bytes
        self._buf = bytearray()
        self.pending_bytes = 0  #: bytes of an unfinished message held (len(_buf) after every call)
        self._scan = 0  # bytes of the current message already known to hold no terminator
        self._skip_to = 0  # absolute index where the binary block being skipped ends
        self._in_quote: int | None = None  # quote byte while inside a quoted string (slow path)
        self._slow = False  # current message holds a '#' outside quotes: scan byte by byte

    def clear(self) -> None:
        """Forget any unfinished message (a device clear)."""
        self._buf.clear()
        self.pending_bytes = 0
        self._reset_scan()

    def feed(self, data: bytes) -> list[str]:
        """Add received bytes; return the complete messages they finish (empty ones dropped)."""
        if not self._buf and data.endswith(b"\n") and b"#" not in data:
            # The commonest case, whole lines with no block header: split them as they are (a newline
            # ends a message whatever the quotes; only a '#' needs the careful scan below)
            if data.count(b"\n") == 1 and not data.endswith(b"\r\n"):  # one line, the commonest of all
                return [data[:-1].decode("latin-1")] if len(data) > 1 else []
            return [
                line.decode("latin-1")
                for line in (raw[:-1] if raw.endswith(b"\r") else raw for raw in data.split(b"\n"))
                if line
            ]
        buf = self._buf
        buf += data
        messages: list[str] = []
        start = 0
        while True:
            end = self._find_terminator(start)
            if end < 0:
                break
            self._append(messages, start, end)
            start = end + 1
            self._reset_scan(start)
        if start:
            del buf[:start]
            self._scan -= start
            self._skip_to = max(0, self._skip_to - start)
        limit = self.max_message_bytes
        if limit is not None and len(buf) > limit:
            self.clear()
            raise MessageTooLong(f"message longer than max_message_bytes={limit} without a terminator")
        self.pending_bytes = len(buf)
        return messages

    def end(self) -> list[str]:
        """The write ended with END asserted: whatever is buffered is a complete message."""
        messages: list[str] = []
        if self._buf:
            self._append(messages, 0, len(self._buf))
        self.clear()
        return messages

    # -- internals --------------------------------------------------------------------------------

    def _reset_scan(self, start: int = 0) -> None:
        self._scan = start
        self._skip_to = start
        self._in_quote = None
        self._slow = False

    def _append(self, messages: list[str], start: int, end: int) -> None:
        if end > start and self._buf[end - 1] == _CR:
            end -= 1
        if end > start:
            messages.append(self._buf[start:end].decode("latin-1"))

    def _find_terminator(self, start: int) -> int:
        """Index of the newline ending the message that begins at ``start``, or -1 if none yet."""
        buf = self._buf
        if not self._slow:
            newline = buf.find(b"\n", self._scan)
            hash_at = buf.find(b"#", self._scan, newline if newline >= 0 else len(buf))
            if hash_at < 0:
                # Fast path: no '#' at all, so no binary block can hide a newline.
                if newline < 0:
                    self._in_quote = _quote_state(buf, self._scan, len(buf), self._in_quote)
                    self._scan = len(buf)
                return newline
            self._in_quote = _quote_state(buf, self._scan, hash_at, self._in_quote)
            self._scan = hash_at
            self._slow = True
        return self._scan_slow(start)

    def _scan_slow(self, start: int) -> int:
        buf = self._buf
        size = len(buf)
        limit = self.max_message_bytes
        i = max(self._scan, self._skip_to)
        while i < size:
            byte = buf[i]
            if self._in_quote is not None:
                if byte == self._in_quote:
                    self._in_quote = None
                elif byte == _NL:
                    return i
                i += 1
                continue
            if byte == _NL:
                return i
            if byte in _QUOTES:
                self._in_quote = byte
            elif byte == _HASH and i + 1 < size and buf[i + 1] in _DIGITS and buf[i + 1] != 0x30:
                digits = buf[i + 1] - 0x30
                header = bytes(buf[i + 2 : min(size, i + 2 + digits)])
                if header and not header.isdigit():
                    i += 1  # not a block header after all ("#9" then a newline): the instrument complains
                    continue
                if i + 2 + digits > size:
                    break  # header not complete yet: rescan from the '#' when more arrives
                length = int(header)
                if limit is not None and length > limit:
                    self.clear()
                    raise MessageTooLong(f"binary block of {length} bytes exceeds max_message_bytes={limit}")
                self._skip_to = i + 2 + digits + length
                if self._skip_to > size:
                    self._scan = i
                    return -1
                i = self._skip_to
                continue
            elif byte == _HASH and i + 1 >= size:
                break  # '#' is the last byte received: wait for the next one
            i += 1
        self._scan = i
        return -1


def _quote_state(buf: bytearray, start: int, stop: int, state: int | None) -> int | None:
    """Quote state after ``buf[start:stop]``: ``None`` outside quotes, else the open quote byte."""
    if buf.find(b'"', start, stop) < 0 and buf.find(b"'", start, stop) < 0:
        return state
    for byte in buf[start:stop]:
        if state is None:
            if byte in _QUOTES:
                state = byte
        elif byte == state:
            state = None
    return state
