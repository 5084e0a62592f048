"""The Keithley 2450 trigger model (2450-901-01, ``:TRIGger:BLOCk``/``:TRIGger:LOAD``, section 6).

A trigger model is a numbered list of blocks run by ``:INITiate`` from block 1 upward, branching
where a branch block says so, until it runs past its last block. Everything runs in virtual time
inside the ``:INIT`` that starts it, except a ``WAIT`` (or ``BRANch:EVENt``) on an event that has not
happened: the model then *waits* (``:TRIG:STAT?`` reports WAITING) and the next event resumes it.
Events that can happen on the simulated bench: ``COMMand`` (``*TRG``), ``NOTify<n>`` (from NOTIFY
blocks), ``TIMer<n>`` (timers advance the virtual clock to their next event). ``DIGital``,
``EXTernal``, ``LAN``, ``TSPLink``, ``BLENder`` and ``DISPlay`` events never happen on the bench: a
model waiting for one waits until ``:ABORt``.

Emulator limits (stated, not the instrument's): a model that executes more than
:data:`MAX_BLOCK_STEPS` blocks in one run, or a MEASURE block with an infinite count, is stopped
with an execution error, because a run must finish inside the command that starts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ScpiError
from .params import Choice, Params

MAX_BLOCKS = 63
MAX_BLOCK_STEPS = 2_000_000
TIMERS = 4
NOTIFY_IDS = 8

_EVENT = re.compile(
    r"^(COMM(?:AND)?|NONE|DISP(?:LAY)?|EXT(?:ERNAL)?|"
    r"(NOT(?:IFY)?|TIM(?:ER)?|DIG(?:ITAL)?|LAN|BLEN(?:DER)?|TSPL(?:INK)?)(\d+))$"
)
_EVENT_RANGES = {"NOT": NOTIFY_IDS, "TIM": TIMERS, "DIG": 6, "LAN": 8, "BLEN": 2, "TSPL": 3}
_LIMIT_TYPES = Choice(["ABOVe", "BELow", "INSide", "OUTSide"])


def parse_event(token: str) -> str:
    """A trigger event name in canonical form: COMM, NONE, DISP, EXT, NOT1, TIM2, DIG3, ..."""
    m = _EVENT.match(token.strip().strip("'\"").upper())
    if m is None:
        raise ScpiError(-224, f"trigger event {token[:30]!r}")
    if m.group(2) is None:
        word = m.group(1)
        return {"COMMAND": "COMM", "DISPLAY": "DISP", "EXTERNAL": "EXT"}.get(word, word)
    base = m.group(2)[:4] if m.group(2).startswith(("BLEN", "TSPL")) else m.group(2)[:3]
    n = int(m.group(3))
    if not 1 <= n <= _EVENT_RANGES[base]:
        raise ScpiError(-224, f"trigger event {token[:30]!r}: number out of range")
    return f"{base}{n}"


@dataclass
class Block:
    kind: str
    args: dict

    def describe(self) -> str:
        return self.kind + "".join(f" {k.upper()}: {v}" for k, v in self.args.items())


@dataclass
class Timer:
    delay_s: float = 10e-6
    count: int = 1
    stimulus: str = "NONE"
    start_s: float = 0.0  # absolute start (clock seconds), STARt:SEConds + FRACtional
    generate: bool = False
    enabled: bool = False
    started_at: float | None = None
    fired: int = 0

    def next_event(self, now_s: float) -> float | None:
        """Clock time of the next event after ``now_s`` (None: no more events)."""
        if not self.enabled or self.started_at is None:
            return None
        k = self.fired + 1
        if self.count and k > self.count:
            return None
        t = self.started_at + k * self.delay_s
        return max(t, now_s)


@dataclass
class TriggerModel:
    blocks: dict[int, Block] = field(default_factory=dict)
    state: str = "IDLE"  # IDLE, RUNNING, WAITING, ABORTED, FAILED, PAUSED
    pc: int = 0
    counters: dict[int, int] = field(default_factory=dict)
    once_done: set = field(default_factory=set)
    latched: set = field(default_factory=set)
    last_measure_block: int = 0
    block_values: dict[int, list[float]] = field(default_factory=dict)  # last two readings per block
    waiting_at: int | None = None  # the WAIT block the model entered (ENTer clears only on entry)
    sweep: dict | None = None  # set by a sweep command: INIT may take the fast path

    def set_block(self, n: int, block: Block) -> None:
        if not 1 <= n <= MAX_BLOCKS:
            raise ScpiError(-222, f"block number {n} not in 1..{MAX_BLOCKS}")
        if self.state in ("RUNNING", "WAITING"):
            raise ScpiError(-221, "the trigger model is running")
        self.blocks[n] = block
        self.sweep = None

    def clear(self) -> None:
        self.blocks.clear()
        self.sweep = None

    def listing(self) -> str:
        if not self.blocks:
            return '"EMPTY"'
        return ",".join(f'"{n}) {self.blocks[n].describe()}"' for n in sorted(self.blocks))

    def status(self) -> str:
        state = self.state
        return f"{state};{state};{self.pc}"


def block_from_command(kind: str, p: Params, start: int = 1) -> Block:
    """Parse the parameters of a ``:TRIGger:BLOCk:<kind>`` command (after the block number)."""

    def integer(i, name, lo=1, hi=MAX_BLOCKS):
        return p.integer(i, lo=lo, hi=hi, name=name)

    s = start
    if kind == "BUFFER_CLEAR":
        return Block(kind, {"buffer": p.string(s, "buffer", allow_bare=True) if p.has(s) else "defbuffer1"})
    if kind in ("CONFIG_NEXT", "CONFIG_PREV"):
        return Block(kind, {"list": p.string(s, "configuration list", allow_bare=True)})
    if kind == "CONFIG_RECALL":
        return Block(
            kind,
            {
                "list": p.string(s, "configuration list", allow_bare=True),
                "index": integer(s + 1, "index", hi=2**31) if p.has(s + 1) else 1,
            },
        )
    if kind == "DELAY_CONSTANT":
        return Block(kind, {"delay": p.number(s, lo=0.0, hi=1e4, units=("S",), name="delay")})
    if kind == "DELAY_DYNAMIC":
        token = p.raw(s, "user delay").strip().upper()
        m = re.match(r"^(SOUR(?:CE)?|MEAS(?:URE)?|M|S)(\d)$", token)
        if m is None or not 1 <= int(m.group(2)) <= 5:
            raise ScpiError(-224, f"user delay {token[:20]!r}: SOURce1..5 or MEASure1..5")
        return Block(kind, {"delay": ("SOUR" if m.group(1).startswith("S") else "MEAS") + m.group(2)})
    if kind == "MEASURE":
        buffer = p.string(s, "buffer", allow_bare=True) if p.has(s) else "defbuffer1"
        count: int | str = 1
        if p.has(s + 1):
            token = p.raw(s + 1).strip().upper()
            if token in ("INF", "INFINITE"):
                count = "INF"
            elif token == "AUTO":
                count = "AUTO"
            else:
                count = p.integer(s + 1, lo=1, hi=2**31 - 1, name="count")
        return Block(kind, {"buffer": buffer, "count": count})
    if kind == "NOP":
        return Block(kind, {})
    if kind == "SOURCE_OUTPUT":
        return Block(kind, {"state": "ON" if p.boolean(s, "output state") else "OFF"})
    if kind == "BRANCH_ALWAYS":
        return Block(kind, {"branch_block": integer(s, "branch block")})
    if kind in ("BRANCH_ONCE", "BRANCH_ONCE_EXCLUDED"):
        return Block(kind, {"branch_block": integer(s, "branch block")})
    if kind == "BRANCH_COUNTER":
        return Block(
            kind,
            {"count": p.integer(s, lo=1, hi=2**31 - 1, name="count"), "branch_block": integer(s + 1, "branch block")},
        )
    if kind == "BRANCH_LIMIT_CONSTANT":
        return Block(
            kind,
            {
                "type": p.choice(s, _LIMIT_TYPES, "limit type"),
                "limit_a": p.number(s + 1, name="limit A"),
                "limit_b": p.number(s + 2, name="limit B"),
                "branch_block": integer(s + 3, "branch block"),
                "measure_block": integer(s + 4, "measure block") if p.has(s + 4) else 0,
            },
        )
    if kind == "BRANCH_LIMIT_DYNAMIC":
        return Block(
            kind,
            {
                "type": p.choice(s, _LIMIT_TYPES, "limit type"),
                "limit": p.integer(s + 1, lo=1, hi=2, name="limit number"),
                "branch_block": integer(s + 2, "branch block"),
                "measure_block": integer(s + 3, "measure block") if p.has(s + 3) else 0,
            },
        )
    if kind == "BRANCH_DELTA":
        return Block(
            kind,
            {
                "target": p.number(s, name="target difference"),
                "branch_block": integer(s + 1, "branch block"),
                "measure_block": integer(s + 2, "measure block") if p.has(s + 2) else 0,
            },
        )
    if kind == "BRANCH_EVENT":
        return Block(kind, {"event": parse_event(p.raw(s, "event")), "branch_block": integer(s + 1, "branch block")})
    if kind == "WAIT":
        events = [parse_event(p.raw(s, "event"))]
        clear, logic = "NEV", "OR"
        if p.has(s + 1):
            clear = p.choice(s + 1, ["NEVer", "ENTer"], "clear")
        if p.has(s + 2):
            logic = p.choice(s + 2, ["AND", "OR"], "logic")
        for i in range(s + 3, min(len(p), s + 5)):
            events.append(parse_event(p.raw(i, "event")))
        return Block(kind, {"events": events, "clear": clear, "logic": logic})
    if kind == "LOG_EVENT":
        token = p.raw(s, "event").strip().upper()
        m = re.match(r"^(INFO|WARN|ERR|ERROR)([1-4])$|^(ABOR|ABORT)$", token)
        if m is None:
            raise ScpiError(-224, f"log event {token[:20]!r}: INFO1-4, WARN1-4, ERR1-4, ABORt")
        return Block(kind, {"event": token, "message": p.string(s + 1, "message")})
    if kind == "NOTIFY":
        return Block(kind, {"notify": p.integer(s, lo=1, hi=NOTIFY_IDS, name="notify id")})
    if kind == "DIGITAL_IO":
        return Block(
            kind,
            {
                "pattern": p.integer(s, lo=0, hi=63, name="bit pattern"),
                "mask": p.integer(s + 1, lo=0, hi=63, name="bit mask") if p.has(s + 1) else 63,
            },
        )
    raise ScpiError(-113, kind)


class Runner:
    """Runs a :class:`TriggerModel` on an instrument (see ``Keithley2450`` for the hooks)."""

    def __init__(self, model: TriggerModel, inst):
        self.m = model
        self.inst = inst

    def start(self) -> None:
        m = self.m
        for b in m.blocks.values():
            if b.kind == "MEASURE" and b.args["count"] == "INF":
                raise ScpiError(
                    -221,
                    "a MEASURE block with an infinite count cannot finish in "
                    "virtual time (emulator limit): use a finite count",
                )
        m.counters.clear()
        m.once_done.clear()
        m.latched.clear()
        m.block_values.clear()
        m.pc = min(m.blocks) if m.blocks else 0
        m.state = "RUNNING"
        self.inst.trigger_event(2731)
        self.resume()

    def resume(self) -> None:
        m, inst = self.m, self.inst
        m.state = "RUNNING"
        steps = 0
        last = max(m.blocks) if m.blocks else 0
        while m.pc and m.pc <= last:
            block = m.blocks.get(m.pc)
            if block is None:
                m.pc += 1
                continue
            steps += 1
            if steps > MAX_BLOCK_STEPS:
                m.state = "FAILED"
                inst.trigger_event(2730)
                raise ScpiError(-200, f"trigger model stopped after {MAX_BLOCK_STEPS} blocks (emulator limit)")
            nxt = self.execute(m.pc, block)
            if nxt == "WAIT":
                m.state = "WAITING"
                return
            if nxt == "ABORT":
                m.state = "ABORTED"
                inst.trigger_event(2728)
                return
            m.pc = nxt
        m.state = "IDLE"
        inst.trigger_event(2732)

    def _event(self, event: str) -> bool:
        """Whether ``event`` has happened (timers are advanced to in virtual time)."""
        m, inst = self.m, self.inst
        if event == "NONE":
            return True
        if event in m.latched:
            m.latched.discard(event)
            return True
        if event.startswith("TIM"):
            timer = inst.timers[int(event[3:])]
            t = timer.next_event(inst.clock_s())
            if t is not None:
                inst.link.wait(t - inst.clock_s())
                timer.fired += 1
                return True
        return False

    def execute(self, n: int, b: Block):
        inst, m, a = self.inst, self.m, self.args_of(b)
        k = b.kind
        nxt = n + 1
        if k == "BUFFER_CLEAR":
            inst.buffer(a["buffer"]).clear()
        elif k == "CONFIG_RECALL":
            inst.config_recall(a["list"], a["index"])
        elif k == "CONFIG_NEXT":
            inst.config_step(a["list"], +1)
        elif k == "CONFIG_PREV":
            inst.config_step(a["list"], -1)
        elif k == "DELAY_CONSTANT":
            inst.link.wait(a["delay"])
        elif k == "DELAY_DYNAMIC":
            inst.link.wait(inst.user_delay(a["delay"]))
        elif k == "MEASURE":
            count = inst.sense_count if a["count"] == "AUTO" else a["count"]
            values = inst.take_readings(a["buffer"], count)
            m.block_values[n] = (m.block_values.get(n, []) + values)[-2:]
            m.last_measure_block = n
        elif k == "SOURCE_OUTPUT":
            inst.set_output(a["state"] == "ON")
        elif k == "BRANCH_ALWAYS":
            nxt = a["branch_block"]
        elif k == "BRANCH_ONCE":
            if n not in m.once_done:
                m.once_done.add(n)
                nxt = a["branch_block"]
        elif k == "BRANCH_ONCE_EXCLUDED":
            if n in m.once_done:
                nxt = a["branch_block"]
            m.once_done.add(n)
        elif k == "BRANCH_COUNTER":
            count = a["count"]
            if isinstance(count, tuple):  # ("size", list): a ConfigList template's loop
                count = inst.config_size(count[1])
            m.counters[n] = m.counters.get(n, 0) + 1
            if m.counters[n] < count:
                nxt = a["branch_block"]
            else:
                m.counters[n] = 0  # falls through: ready for the next pass of an outer loop
        elif k in ("BRANCH_LIMIT_CONSTANT", "BRANCH_LIMIT_DYNAMIC"):
            recent = m.block_values.get(a["measure_block"] or m.last_measure_block)
            value = recent[-1] if recent else None
            if k == "BRANCH_LIMIT_CONSTANT":
                lo_v, hi_v = a["limit_a"], a["limit_b"]
            else:
                lo_v, hi_v = inst.limit_values(a["limit"])
            if value is not None and _limit_branch(a["type"], value, lo_v, hi_v):
                nxt = a["branch_block"]
        elif k == "BRANCH_DELTA":
            last_two = m.block_values.get(a["measure_block"] or m.last_measure_block, [])
            if len(last_two) == 2 and abs(last_two[1] - last_two[0]) < a["target"]:
                nxt = a["branch_block"]
        elif k == "BRANCH_EVENT":
            if self._event(a["event"]):
                nxt = a["branch_block"]
        elif k == "WAIT":
            if a["clear"] == "ENT" and m.waiting_at != n:
                for e in a["events"]:
                    m.latched.discard(e)
            m.waiting_at = n
            seen = [self._event(e) for e in a["events"]]
            done = all(seen) if a["logic"] == "AND" else any(seen)
            if not done:
                return "WAIT"
            m.waiting_at = None
        elif k == "LOG_EVENT":
            if a["event"].startswith("ABOR"):
                return "ABORT"
            inst.log_event(a["event"], a["message"])
        elif k == "NOTIFY":
            event = f"NOT{a['notify']}"
            m.latched.add(event)
            inst.notify(event)
        elif k == "DIGITAL_IO":
            pass  # no digital I/O lines are wired on the bench
        return nxt

    @staticmethod
    def args_of(block: Block) -> dict:
        return block.args


def _limit_branch(kind: str, value: float, a: float, b: float) -> bool:
    if kind == "ABOV":
        return value > b
    if kind == "BEL":
        return value < a
    if kind == "INS":
        return min(a, b) <= value <= max(a, b)
    return not min(a, b) <= value <= max(a, b)


def template(p: Params) -> tuple[list[Block], dict]:
    """Blocks of a ``:TRIGger:LOAD`` template, and timer settings it needs ({timer: Timer kwargs})."""
    word = p.string(0, "template", allow_bare=True).upper()

    def buffer(i):
        return p.string(i, "buffer", allow_bare=True) if p.has(i) else "defbuffer1"

    def delay(i):
        return p.number(i, lo=0.0, hi=1e4, units=("S",), name="delay") if p.has(i) else 0.0

    if word == "EMPTY":
        return [], {}
    if word == "SIMPLELOOP":
        count = p.integer(1, lo=1, hi=2**31 - 1, name="count")
        return [
            Block("DELAY_CONSTANT", {"delay": delay(2)}),
            Block("MEASURE", {"buffer": buffer(3), "count": 1}),
            Block("BRANCH_COUNTER", {"count": count, "branch_block": 1}),
        ], {}
    if word == "DURATIONLOOP":
        duration = p.number(1, lo=1e-6, hi=1e5, units=("S",), name="duration")
        blocks = [
            Block("NOTIFY", {"notify": 8}),
            Block("DELAY_CONSTANT", {"delay": delay(2)}),
            Block("MEASURE", {"buffer": buffer(3), "count": 1}),
            Block("BRANCH_EVENT", {"event": "TIM4", "branch_block": 6}),
            Block("BRANCH_ALWAYS", {"branch_block": 2}),
            Block("NOP", {}),
        ]
        return blocks, {4: dict(delay_s=duration, count=1, stimulus="NOT8", enabled=True)}
    if word == "CONFIGLIST":
        measure_list = p.string(1, "measure configuration list", allow_bare=True)
        source_list = p.string(2, "source configuration list", allow_bare=True)
        return [
            Block("CONFIG_RECALL", {"list": source_list, "index": 1}),
            Block("CONFIG_RECALL", {"list": measure_list, "index": 1}),
            Block("SOURCE_OUTPUT", {"state": "ON"}),
            Block("DELAY_CONSTANT", {"delay": delay(3)}),
            Block("MEASURE", {"buffer": buffer(4), "count": 1}),
            Block("CONFIG_NEXT", {"list": source_list}),
            Block("CONFIG_NEXT", {"list": measure_list}),
            Block("BRANCH_COUNTER", {"count": ("size", source_list), "branch_block": 4}),
            Block("SOURCE_OUTPUT", {"state": "OFF"}),
        ], {}
    if word in ("LOOPUNTILEVENT", "LOGICTRIGGER", "GRADEBINNING", "SORTBINNING"):
        raise ScpiError(
            -221,
            f"template {word}: needs digital I/O or a run that waits for an "
            "external event while measuring; not emulated",
        )
    raise ScpiError(-224, f"trigger model template {word!r}")


def timer_start_time(timer: Timer, now_s: float) -> None:
    timer.started_at = max(now_s, timer.start_s)
    timer.fired = 0
