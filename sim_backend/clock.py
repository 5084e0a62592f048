"""The virtual clock of an in-process simulated bench (``@tspcm``), offered to the instrument layer as
``TspcmVisaLibrary.clock``: waiting advances the bench's virtual time under its lock, as an idle
instrument would, so a 1e4 s wait is instant. Same shape as ``instruments.clock.Clock`` (this layer
imports nothing above it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class VirtualClock:
    """Time of one bench host (``host.bench.now_s``, advanced by ``host.bench.wait`` under ``host.lock``)."""

    virtual = True

    def __init__(self, host: Any) -> None:
        self.host = host

    def now_s(self) -> float:
        return float(self.host.bench.now_s)

    def wait(self, duration_s: float, should_stop: Callable[[], bool] | None = None, *, slice_s: float = 0.2) -> bool:
        """Advance virtual time by ``duration_s`` (s); False, without waiting, when already asked to stop."""
        if should_stop is not None and should_stop():
            return False
        with self.host.lock:
            self.host.bench.wait(max(float(duration_s), 0.0))
        return True
