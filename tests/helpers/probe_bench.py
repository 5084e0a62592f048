"""A tiny test-only bench for the transport tests: real enough to exercise a transport, nothing more.

:class:`ProbeInstrument` implements the VirtualInstrument interface (see the shared resources note):
``handle(message) -> str | bytes | None``, ``push_error``, ``reset``. Its dialogue:

- ``*IDN?`` -> ``TSPCM-TEST,<model>,<seed>,1.0``; ``*RST``; ``*CLS``; ``*OPC?`` -> ``1``; ``*TRG`` counts
  triggers, ``TRIG:COUN?`` reads the count
- ``ECHO <text>`` -> text (tells which connection got which reply)
- ``VAL <x>`` stores the text x, ``VAL?`` returns it (so state and isolation are visible)
- ``READ?`` / ``:READ?`` -> a reading, ``%.6e``
- ``DATA? <n>`` -> an IEEE 488.2 definite block of n bytes 0, 1, ..., 255, 0, ... (contains 0x0A)
- ``BLOCK <block>`` stores the payload of a written binary block, ``BLOCK?`` -> its length and checksum
- ``MSG?`` -> the messages received so far, joined with ``|`` (so tests see the exact framing)
- ``SYST:ERR?`` -> oldest error (``0,"No error"`` when empty)
- anything else: no reply, ``-113,"Undefined header"`` queued, as on a real instrument
"""

from __future__ import annotations


class ProbeInstrument:
    def __init__(self, resource_name: str, model: str, seed: int = 0):
        self.resource_name = resource_name
        self.model = model
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self.value = "0"
        self.errors: list[tuple[int, str]] = []
        self.messages: list[str] = []
        self.triggers = 0
        self.block = b""
        self.readings = 0

    def push_error(self, code: int, message: str) -> None:
        self.errors.append((code, message))

    def handle(self, message: str) -> str | bytes | None:
        self.messages.append(message)
        header, _, arg = message.strip().partition(" ")
        header = header.upper().lstrip(":")
        if header == "*IDN?":
            return f"TSPCM-TEST,{self.model},{self.seed},1.0"
        if header == "*RST":
            self.value = "0"
            return None
        if header == "*CLS":
            self.errors.clear()
            return None
        if header == "*OPC?":
            return "1"
        if header == "*TRG":
            self.triggers += 1
            return None
        if header == "TRIG:COUN?":
            return str(self.triggers)
        if header == "ECHO":
            return arg
        if header == "VAL":
            self.value = arg.strip()
            return None
        if header == "VAL?":
            return self.value
        if header == "READ?":
            self.readings += 1
            return f"{1e-6 * (self.seed + self.readings):.6e}"
        if header == "DATA?":
            count = int(arg)
            payload = bytes(i % 256 for i in range(count))
            length = str(len(payload)).encode()
            return b"#" + str(len(length)).encode() + length + payload
        if header == "BLOCK":
            raw = arg.encode("latin-1")
            digits = int(raw[1:2])
            length = int(raw[2 : 2 + digits])
            self.block = raw[2 + digits : 2 + digits + length]
            return None
        if header == "BLOCK?":
            return f"{len(self.block)},{sum(self.block)}"
        if header == "MSG?":
            return "|".join(self.messages[:-1])
        if header in ("SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?"):
            if self.errors:
                code, text = self.errors.pop(0)
                return f'{code},"{text}"'
            return '0,"No error"'
        self.push_error(-113, "Undefined header")
        return None


class ProbeBench:
    """A bench-like object: ``instruments`` keyed by resource name, ``reset()``; spec ``seed=N``."""

    def __init__(self, spec: str = ""):
        self.spec = spec
        seed = 0
        for part in spec.split(";"):
            key, _, value = part.partition("=")
            if key.strip() == "seed":
                seed = int(value)
            elif part.strip():
                raise ValueError(f"probe bench: unknown option {part!r}; allowed: seed=N")
        self.seed = seed
        # deliberately not in the shared table's order: the transports must order them
        self.instruments = {
            "GPIB0::10::INSTR": ProbeInstrument("GPIB0::10::INSTR", "Probe AWG", seed),
            "GPIB0::18::INSTR": ProbeInstrument("GPIB0::18::INSTR", "Probe SMU", seed),
        }

    def reset(self) -> None:
        for instrument in self.instruments.values():
            instrument.reset()


def open_probe_bench(spec: str) -> ProbeBench:
    return ProbeBench(spec)
