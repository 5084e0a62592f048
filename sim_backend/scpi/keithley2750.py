"""Keithley 2750 multimeter/switch system with a 7709 6x8 matrix card (switching only).

Commands: the rows of ``tables/keithley2750.toml`` (Model 2750 user's manual, 2750-900-01), covering
PyMeasure's ``Keithley2750`` driver and our ``Keithley2750Matrix`` extension:
``:ROUTe:MULTiple:CLOSe <clist>`` / ``:ROUTe:MULTiple:CLOSe?``, ``:ROUTe:MULTiple:OPEN <clist>``,
``:ROUTe:CLOSe <clist>`` (opens every other channel first) / ``:ROUTe:CLOSe?``,
``:ROUTe:OPEN:ALL``, the state queries ``...:CLOSe:STATe? <clist>`` and the relay closure counts
``:ROUTe:CLOSe:COUNt? <clist>``. Both list queries return every closed channel as ``(@101,111)``
(``(@)`` when none), which is what PyMeasure's ``closed_channels`` parses.

Channel numbers are the 7709's ``SCH``: slot S (1-5), crosspoint CH = (row - 1) x 8 + column for
rows 1-6 and columns 1-8 (channels 1-48); 49 and 50 are the backplane isolation relays (accepted,
not routed). Verified against the 7709 manual's daisy-chain figure (channel 30 = row 4, column 6).
Only ``cards`` slots (default: a 7709 in slot 1) accept channels; another channel queues -222 and
changes no relay.

Physics: after a change the closed crosspoints of the matrix in slot 1 go to
``bench.route({(row, column), ...})`` (1-based, as labelled on the card) and the relays settle for
:data:`RELAY_SETTLE_S` of virtual time (``bench.wait``; a guess at the 7709's operate time).
The DMM of the 2750 is not emulated (its input is not wired on the bench): ``:READ?`` etc. queue
-113.
"""

from __future__ import annotations

from . import status
from .benchlink import BenchLink
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .params import Params

ROWS, COLUMNS = 6, 8
RELAY_SETTLE_S = 3e-3


def crosspoint_of(channel: int) -> tuple[int, int, int] | None:
    """(slot, row, column) of a 7709 channel number, or None for 49/50 or out-of-range."""
    slot, ch = divmod(channel, 100)
    if not 1 <= ch <= ROWS * COLUMNS:
        return None
    return slot, (ch - 1) // COLUMNS + 1, (ch - 1) % COLUMNS + 1


class Keithley2750(status.StatusModel, ScpiInstrument):
    """Keithley 2750 with matrix cards; ``routed_slot`` is the card wired to the bench."""

    model = "Keithley 2750 + 7709"
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2750,4000001,A07  /A02"
    error_queue_size = 10
    table_file = "keithley2750.toml"
    save_slots = 5
    status_registers = ("MEAS", "OPER", "QUES")

    def __init__(
        self,
        bench=None,
        resource_name: str = "GPIB0::16::INSTR",
        *,
        bench_name: str | None = "matrix",
        cards: dict[int, str] | None = None,
        routed_slot: int = 1,
    ):
        self.cards = dict(cards or {1: "7709"})
        if not all(1 <= s <= 5 for s in self.cards):
            raise ValueError(f"cards: the 2750 has slots 1-5, got {sorted(self.cards)}")
        self.routed_slot = routed_slot
        self.link = BenchLink(bench, bench_name)
        self.closed: set[int] = set()
        self.closures: dict[int, int] = {}  # relay closure counts (kept by the card, not *RST)
        self._init_registers()
        super().__init__(resource_name)

    @property
    def options(self) -> str:  # type: ignore[override]
        return ",".join(self.cards.get(s, "NONE") for s in range(1, 6))

    def _rst_state(self) -> None:
        self._set_closed(set())
        self.scan_list: list[int] = []
        self.elements = ["READ"]

    def format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    # ------------------------------------------------------------------ helpers
    def _channels(self, p: Params) -> list[int]:
        channels = p.channel_list(0)
        for ch in channels:
            slot, number = divmod(ch, 100)
            if self.cards.get(slot) != "7709" or not 1 <= number <= 50:
                raise ScpiError(-222, f"channel {ch} does not exist")
        return channels

    def _set_closed(self, closed: set[int]) -> None:
        changed = closed != self.closed
        for ch in closed - self.closed:
            self.closures[ch] = self.closures.get(ch, 0) + 1
        self.closed = set(closed)
        crosspoints = set()
        for ch in self.closed:
            xp = crosspoint_of(ch)
            if xp is not None and xp[0] == self.routed_slot:
                crosspoints.add((xp[1], xp[2]))
        self.link.route(crosspoints)
        if changed:
            self.link.wait(RELAY_SETTLE_S)

    def _closed_reply(self) -> str:
        return "(@" + ",".join(str(c) for c in sorted(self.closed)) + ")"

    # ------------------------------------------------------------------ ROUTe
    @scpi(":ROUTe:MULTiple:CLOSe")
    def _mult_close(self, p: Params):
        self._set_closed(self.closed | set(self._channels(p)))

    @scpi(":ROUTe:MULTiple:CLOSe", query=True)
    @scpi(":ROUTe:CLOSe", query=True)
    def _get_closed(self, p: Params):
        return self._closed_reply()

    @scpi(":ROUTe:MULTiple:OPEN")
    def _mult_open(self, p: Params):
        self._set_closed(self.closed - set(self._channels(p)))

    @scpi(":ROUTe:CLOSe")
    def _close(self, p: Params):
        self._set_closed(set(self._channels(p)))

    @scpi(":ROUTe:CLOSe:STATe", query=True, args=(1, 1))
    @scpi(":ROUTe:MULTiple:CLOSe:STATe", query=True, args=(1, 1))
    def _get_states(self, p: Params):
        return ",".join("1" if ch in self.closed else "0" for ch in self._channels(p))

    @scpi(":ROUTe:CLOSe:COUNt", query=True, args=(1, 1))
    def _get_counts(self, p: Params):
        return ",".join(str(self.closures.get(ch, 0)) for ch in self._channels(p))

    @scpi(":ROUTe:SCAN[:INTernal]")
    def _set_scan(self, p: Params):
        self.scan_list = self._channels(p)

    @scpi(":ROUTe:SCAN[:INTernal]", query=True)
    def _get_scan(self, p: Params):
        return "(@" + ",".join(str(c) for c in self.scan_list) + ")"

    def _check_scan_select(self, p: Params, value):
        if value != "NONE":
            raise ScpiError(-221, "a scan measures with the DMM, whose input is not wired on the bench")
        return value

    # ------------------------------------------------------------------ system, status, format
    @scpi(":SYSTem:PRESet", args=(0, 0))
    def _preset(self, p: Params):
        self._full_rst()

    @scpi(":SYSTem:CLEar", args=(0, 0))
    def _syst_clear(self, p: Params):
        self.errors.clear()

    @scpi(":STATus:QUEue[:NEXT]", query=True)
    def _queue_next(self, p: Params):
        return self.format_error(*self.errors.pop())

    @scpi(":STATus:QUEue:CLEar", args=(0, 0))
    def _queue_clear(self, p: Params):
        self.errors.clear()

    @scpi(":SYSTem:VERSion", query=True)
    def _version(self, p: Params):
        return "1991.0"

    @scpi(":SYSTem:LFRequency", query=True)
    def _lfr(self, p: Params):
        return "60"

    @scpi(":SYSTem:CARD#:IDN", query=True)
    def _card_idn(self, p: Params):
        card = self.cards.get(p.sfx[0])
        if card is None:
            return "Empty Slot"
        return "7709,6X8 MATRIX,0,0"

    @scpi(":SYSTem:CARD#:VMAX", query=True)
    def _card_vmax(self, p: Params):
        return "300" if p.sfx[0] in self.cards else "0"

    _stat_enable = scpi(":STATus:{MEASurement|OPERation|QUEStionable}:ENABle")(status.enable_command())
    _stat_enable_q = scpi(":STATus:{MEASurement|OPERation|QUEStionable}:ENABle", query=True)(status.enable_query())
    _stat_event = scpi(":STATus:{MEASurement|OPERation|QUEStionable}[:EVENt]", query=True)(status.event_query())
    _stat_condition = scpi(":STATus:{MEASurement|OPERation|QUEStionable}:CONDition", query=True)(
        status.condition_query()
    )
    _stat_preset = scpi(":STATus:PRESet", args=(0, 0))(status.preset_command())

    @scpi(":FORMat:ELEMents", args=(1, 6))
    def _set_elements(self, p: Params):
        self.elements = [
            p.choice(i, ["READing", "CHANnel", "UNITs", "RNUMber", "TSTamp", "LIMits"], "element")
            for i in range(len(p))
        ]

    @scpi(":FORMat:ELEMents", query=True)
    def _get_elements(self, p: Params):
        return ",".join(self.elements)

    @scpi(":ROUTe:OPEN:ALL", args=(0, 0))
    def _open_all(self, p: Params):
        self._set_closed(set())
