"""The simulated bench's own control point, served next to its instruments by ``tspcm sim serve``.

A client in another process (the GUI, which keeps the bench out of its own process so the device model
never holds its interpreter lock) needs what an in-process client gets from the bench object: virtual
time that passes without wall time, and the bench's snapshot for the run file. Real instruments have no
such commands, so they are not added to any instrument's SCPI: they live on this extra endpoint only.

Messages (one per line; several joined with ``;`` are answered in order, joined with ``;``):

- ``*IDN?`` -> ``TSPCM-LAB,SIMULATED BENCH,0,1``
- ``:TIME?`` -> the bench's virtual time (s, ``repr`` of the float)
- ``:WAIT <s>`` -> virtual time passes with the outputs as they are (0 to 1e9 s), as an idle bench would
- ``*OPC?`` -> ``1`` (after everything before it on the line)
- ``:SNAPshot?`` -> the bench's snapshot (wiring, sources, device model and state) as one line of JSON
- anything else -> ``ERROR,<what>`` for a query, logged and ignored otherwise

Text is only ever parsed here (numbers with ``float``), never evaluated.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from typing import Any

log = logging.getLogger(__name__)

#: the resource name of the control endpoint in a server's port map
CONTROL_RESOURCE = "TSPCM::BENCH"
IDN = "TSPCM-LAB,SIMULATED BENCH,0,1"
#: the longest single wait accepted (s): thirty years of retention, far beyond any procedure
MAX_WAIT_S = 1e9


class BenchControl:
    """``handle(message) -> reply | None`` for the control endpoint of ``bench`` (a VirtualBench)."""

    model = "simulated bench: virtual clock, snapshot"

    def __init__(self, bench: Any):
        self.bench = bench
        self.lock = threading.Lock()

    def handle(self, message: str) -> str | None:
        replies = []
        with self.lock:
            for part in message.split(";"):
                header, _, argument = part.strip().partition(" ")
                if not header:
                    continue
                try:
                    reply = self._one(header.upper().lstrip(":"), argument.strip())
                except ValueError as exc:
                    if not header.endswith("?"):
                        log.warning("bench control: %s", exc)
                        continue
                    reply = f"ERROR,{' '.join(str(exc).split())}"
                if reply is not None:
                    replies.append(reply)
        return ";".join(replies) if replies else None

    def _one(self, header: str, argument: str) -> str | None:
        if header == "*IDN?":
            return IDN
        if header == "*OPC?":
            return "1"
        if header == "TIME?":
            return repr(float(self.bench.now_s))
        if header == "WAIT":
            try:
                duration = float(argument)
            except ValueError:
                raise ValueError(f"WAIT needs a duration in s, got {argument!r}") from None
            if not (math.isfinite(duration) and 0 <= duration <= MAX_WAIT_S):
                raise ValueError(f"WAIT duration must be from 0 to {MAX_WAIT_S:g} s, got {argument!r}")
            self.bench.wait(duration)
            return None
        if header in ("SNAP?", "SNAPSHOT?"):
            return json.dumps(self.bench.snapshot(), default=_plain, separators=(",", ":"))
        raise ValueError(f"unknown command {header!r}")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays in a snapshot as JSON numbers and lists."""
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
