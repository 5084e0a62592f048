"""Lexing of SCPI program messages and typed parsing of their parameters (IEEE 488.2 section 7).

Nothing here evaluates text: numbers go through a regular expression and ``float``, everything else
is compared against declared mnemonics.

Parameter forms understood:
- decimal numbers NR1/NR2/NR3 (``5``, ``-1.5``, ``2.0E-3``), with an optional unit suffix and SI
  prefix where the parameter declares units (``1mA``, ``10us``, ``1 MHZ``; SCPI reads ``M`` as milli,
  ``MA`` as mega except in ``MHZ``/``MOHM``), and non-decimal ``#H1F``, ``#Q17``, ``#B101``;
- ``MINimum``, ``MAXimum``, ``DEFault`` where the parameter has those values;
- booleans ``ON``/``OFF``/``1``/``0`` (any number: nonzero after rounding is ON);
- character data (mnemonics, matched in short or long form);
- strings in single or double quotes (a doubled quote stands for one quote);
- channel lists ``(@101,102)``, ``(@1101:1108)``;
- definite (``#<n><length><bytes>``) and indefinite (``#0...``) arbitrary blocks.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import ScpiError

#: per separator, the characters _split_top_level stops at: quotes, parentheses, blocks and the separator (the
#: other separator is an ordinary character there: stopping at it changed nothing but cost a loop turn)
_SPECIAL = {";": re.compile(r"""['"();#]"""), ",": re.compile(r"""['"(),#]""")}
_NUMBER = re.compile(  # ASCII only: a real instrument does not read "٣" as 3
    r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:\s*[eE]\s*[+-]?\d+)?)\s*([A-Za-z/%]*)\s*$", re.ASCII
)
_NONDECIMAL = re.compile(r"\s*#([HhQqBb])([0-9A-Fa-f]+)\s*$", re.ASCII)
_MNEMONIC = re.compile(r"[A-Za-z][A-Za-z0-9_]*$")

#: SI prefixes as SCPI-99 spells them (section 7.7.3): note MA = mega, M = milli.
_PREFIX = {
    "": 1.0,
    "EX": 1e18,
    "PE": 1e15,
    "T": 1e12,
    "G": 1e9,
    "MA": 1e6,
    "K": 1e3,
    "M": 1e-3,
    "U": 1e-6,
    "N": 1e-9,
    "P": 1e-12,
    "F": 1e-15,
    "A": 1e-18,
}
_SPECIAL_UNITS = {"MHZ": ("HZ", 1e6), "MOHM": ("OHM", 1e6)}


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of the ASCII digits 0-9 only (``str.isdigit`` also accepts "²", "٣")."""
    return text.isascii() and text.isdigit()


def _skip_block(text: str, i: int) -> int:
    """Given ``text[i] == '#'``, return the index just after the block or number it starts."""
    n = len(text)
    if i + 1 >= n:
        return n
    c = text[i + 1]
    if c == "0":
        return n  # indefinite-length block: runs to the end of the message
    if is_ascii_digits(c):
        ndig = int(c)
        digits = text[i + 2 : i + 2 + ndig]
        if len(digits) != ndig or not is_ascii_digits(digits):
            raise ScpiError(-160, "bad block header")
        end = i + 2 + ndig + int(digits)
        if end > n:
            raise ScpiError(-160, "block shorter than its header says")
        return end
    return i + 1  # '#H', '#Q', '#B' numbers: ordinary characters from here on


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split at ``separator`` where it stands outside strings, parentheses and blocks."""
    parts: list[str] = []
    start = 0
    depth = 0
    i = 0
    n = len(text)
    search = _SPECIAL[separator].search
    while True:
        m = search(text, i)
        if m is None:
            break
        i = m.start()
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            while j != -1 and j + 1 < n and text[j + 1] == c:
                j = text.find(c, j + 2)
            if j == -1:
                raise ScpiError(-151, "unterminated string")
            i = j + 1
        elif c == "(":
            depth += 1
            i += 1
        elif c == ")":
            depth = max(0, depth - 1)
            i += 1
        elif c == "#":
            i = _skip_block(text, i)
        elif c == separator and depth == 0:
            parts.append(text[start:i])
            start = i = i + 1
        else:
            i += 1
    parts.append(text[start:])
    return parts


def split_units(message: str) -> list[str]:
    """Split a program message at ``;`` outside strings, parentheses and blocks."""
    if ";" not in message and "'" not in message and '"' not in message and "#" not in message:
        return [message]  # one unit, and nothing that could be malformed (an open string or block)
    return _split_top_level(message, ";")


def split_params(text: str) -> list[str]:
    """Split a parameter string at ``,`` outside strings, parentheses and blocks (tokens stripped)."""
    if not text.strip():
        return []
    if "'" not in text and '"' not in text and "(" not in text and "#" not in text:
        return [t.strip() for t in text.split(",")]
    return [t.strip() for t in _split_top_level(text, ",")]


_PRINTF_E = re.compile(r"%([+]?)\.(\d+)E$")
_FLOAT_MIN = sys.float_info.min  # the smallest normal float
#: printf format -> (sign flag, digits, the format of one digit more) of an ``%.<n>E`` format, or () for any
#: other (the match, once per format)
_E_FORMATS: dict[str, tuple] = {}


def format_number(fmt: str, x: float) -> str:
    """``fmt % x`` for a printf format; an ``%.<n>E`` format rounds the shortest decimal that
    reads back as ``x`` (so 9.9e37 prints 9.900...E+37, as an instrument does, not 9.8999...)."""
    spec = _E_FORMATS.get(fmt)
    if spec is None:
        m = _PRINTF_E.match(fmt)
        spec = (m.group(1), int(m.group(2)), f"%.{int(m.group(2)) + 1}E") if m else ()
        if len(_E_FORMATS) < 256:
            _E_FORMATS[fmt] = spec
    if not spec or not math.isfinite(x) or x == 0:
        return fmt % x
    sign, digits, finer = spec
    if digits <= 12 and abs(x) >= _FLOAT_MIN:
        # Rounding x itself to at most 13 digits gives the same digits as rounding its shortest decimal
        # (x is within half an ulp of it, a normal float's ulp is < 1e-15 of it), except when that decimal
        # is a tie at the last digit kept (one more digit, a 5): a rounding boundary strictly between x
        # and its shortest decimal would itself read back as x and be shorter or closer. Such a decimal is
        # x rounded to one digit more (again within half an ulp), so when that digit is not a 5 there is
        # no tie: the fast path, without x's shortest decimal.
        longer = finer % x
        if longer[longer.index("E") - 1] != "5":
            return fmt % x
    shortest = repr(float(x))
    significant = shortest.partition("e")[0].replace(".", "").lstrip("-0").rstrip("0")
    if digits <= 12 and abs(x) >= _FLOAT_MIN and (len(significant) != digits + 2 or significant[-1] != "5"):
        return fmt % x  # a 5 in x's next digit, not a tie of its shortest decimal
    text = format(Decimal(shortest), f"{sign}.{digits}E")
    mantissa, exponent = text.split("E")
    return f"{mantissa}E{int(exponent):+03d}"


def mnemonic_forms(mixed: str) -> tuple[str, str]:
    """Return (short, long) upper-case forms of a mixed-case mnemonic: ``"SOURce"`` -> SOUR, SOURCE.

    A word written all in capitals (``"HOME_LARGE_READING"``, ``"PROT20"``) has one form only.
    """
    if mixed == mixed.upper():
        return mixed, mixed
    short = ""
    for ch in mixed:
        if ch.isupper() or ch.isdigit():
            short += ch
        else:
            break
    return (short or mixed).upper(), mixed.upper()


@dataclass
class Choice:
    """A set of mnemonics for one character-data parameter, each in SCPI mixed case."""

    mnemonics: Sequence[str]
    _table: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self):
        self._table = {}
        for mixed in self.mnemonics:
            short, long = mnemonic_forms(mixed)
            self._table[short] = short
            self._table[long] = short

    def match(self, token: str) -> str | None:
        """Return the canonical short form of ``token``, or None if it is not one of ours."""
        return self._table.get(token.strip().upper())


def parse_number(token: str, *, units: Iterable[str] = (), name: str = "value") -> float:
    """Parse a decimal or non-decimal numeric token, applying an allowed unit suffix."""
    m = _NUMBER.match(token)
    if m is None:
        m2 = _NONDECIMAL.match(token)
        if m2 is not None:
            base = {"H": 16, "Q": 8, "B": 2}[m2.group(1).upper()]
            try:
                return float(int(m2.group(2), base))
            except ValueError:
                raise ScpiError(-120, f"{name}: bad non-decimal number") from None
        tok = token.strip()
        if _NUMERIC_START.match(tok):
            head = re.match(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", tok)
            rest = tok[head.end() :] if head else tok
            if head and rest[:1].isspace() and _NUMERIC_START.match(rest):
                raise ScpiError(-103, f"{name}: parameters must be separated by commas")
            if head and rest.strip()[:1].isalpha() and len(rest.strip()) > _MAX_CHAR_DATA:
                raise ScpiError(-134, f"{name}: suffix too long")
            raise ScpiError(-121, f"{name}: invalid character in number {tok[:40]!r}")
        raise wrong_type(token, name, "a number")
    number = m.group(1)
    if len(number) > _MAX_DIGITS:  # a shorter token cannot hold more digits (the common case: no count)
        mantissa = re.sub(r"[eE].*", "", number)
        if sum(ch.isdigit() for ch in mantissa) > _MAX_DIGITS:
            raise ScpiError(-124, f"{name}: more than {_MAX_DIGITS} digits")
    value = float(number.replace(" ", ""))
    if math.isinf(value):
        raise ScpiError(-123, f"{name}: exponent too large")
    suffix = m.group(2).upper()
    if not suffix:
        return value
    units = [u.upper() for u in units]
    if len(suffix) > _MAX_CHAR_DATA:
        raise ScpiError(-134, f"{name}: suffix too long")
    if not units:
        raise ScpiError(-138, f"{name}: no unit suffix allowed")
    if suffix in _SPECIAL_UNITS and _SPECIAL_UNITS[suffix][0] in units:
        return value * _SPECIAL_UNITS[suffix][1]
    for unit in sorted(units, key=len, reverse=True):
        if suffix.endswith(unit):
            prefix = suffix[: len(suffix) - len(unit)]
            if prefix in _PREFIX:
                return value * _PREFIX[prefix]
    raise ScpiError(-131, f"{name}: invalid suffix {m.group(2)!r}, allowed {', '.join(units)}")


_NUMERIC_START = re.compile(r"\s*[+-]?[0-9.]")
_MAX_DIGITS = 255
_MAX_CHAR_DATA = 12


def wrong_type(token: str, name: str, expected: str) -> ScpiError:
    """The SCPI-99 error for a parameter of the wrong data type (-128, -148, -158, -168, -178...)."""
    tok = token.strip()
    c = tok[:1]
    if c in "'\"":
        return ScpiError(-158, f"{name}: string data not allowed, expected {expected}")
    if c == "#" and tok[1:2].isdigit():
        return ScpiError(-168, f"{name}: block data not allowed, expected {expected}")
    if c == "(":
        return ScpiError(-178, f"{name}: expression data not allowed, expected {expected}")
    if _NUMERIC_START.match(tok) or (c == "#" and tok[1:2].upper() in ("H", "Q", "B")):
        return ScpiError(-128, f"{name}: numeric data not allowed, expected {expected}")
    if _MNEMONIC.match(tok):
        if len(tok) > _MAX_CHAR_DATA:
            return ScpiError(-144, f"{name}: character data too long")
        return ScpiError(-148, f"{name}: character data not allowed, expected {expected}")
    return ScpiError(-141, f"{name}: invalid character data {tok[:40]!r}")


_MINMAXDEF = Choice(["MINimum", "MAXimum", "DEFault"])
_BOOL = Choice(["ON", "OFF"])


class Params:
    """The parameters of one program message unit, parsed on demand by the handler.

    ``sfx`` holds the numeric header suffixes of the matched command's ``#`` nodes (1 when omitted),
    ``alt`` the canonical short forms of its ``{A|B}`` alternative nodes, both in header order.
    """

    __slots__ = ("tokens", "sfx", "alt", "query")

    def __init__(self, tokens: list[str], sfx: tuple[int, ...] = (), alt: tuple[str, ...] = (), query: bool = False):
        self.tokens = tokens
        self.sfx = sfx
        self.alt = alt
        self.query = query

    def __len__(self) -> int:
        return len(self.tokens)

    def has(self, i: int) -> bool:
        return i < len(self.tokens) and self.tokens[i] != ""

    def raw(self, i: int, name: str = "parameter") -> str:
        if i >= len(self.tokens) or self.tokens[i] == "":
            raise ScpiError(-109, f"{name} missing")
        return self.tokens[i]

    def number(
        self,
        i: int,
        *,
        lo: float | None = None,
        hi: float | None = None,
        default: float | None = None,
        units: Iterable[str] = (),
        specials: Mapping[str, float] | None = None,
        name: str = "value",
        clip: bool = False,
    ) -> float:
        """A numeric parameter in [lo, hi]; MIN/MAX/DEF map to lo/hi/default; -222 outside."""
        tok = self.raw(i, name)
        if tok[:1].isalpha():
            word = _MINMAXDEF.match(tok)
            if word == "MIN" and lo is not None:
                return lo
            if word == "MAX" and hi is not None:
                return hi
            if word == "DEF" and default is not None:
                return default
            if specials:
                up = tok.strip().upper()
                for key, val in specials.items():
                    short, long = mnemonic_forms(key)
                    if up in (short, long):
                        return val
            if word is not None:
                raise ScpiError(-224, f"{name}: {tok} not allowed here")
            raise wrong_type(tok, name, "a number")
        if tok.strip()[:1] in "'\"(":
            raise wrong_type(tok, name, "a number")
        value = parse_number(tok, units=units, name=name)
        if value != value:  # NaN
            raise ScpiError(-222, f"{name}: not a number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if clip:
                return min(max(value, lo if lo is not None else value), hi if hi is not None else value)
            raise ScpiError(
                -222,
                f"{name} {value:g} outside [{lo:g}, {hi:g}]"
                if lo is not None and hi is not None
                else f"{name} {value:g}",
            )
        return value

    def integer(
        self, i: int, *, lo: int | None = None, hi: int | None = None, default: int | None = None, name: str = "value"
    ) -> int:
        """An integer parameter (a decimal value is rounded, as SCPI prescribes)."""
        return int(round(self.number(i, lo=lo, hi=hi, default=default, name=name)))

    def boolean(self, i: int, name: str = "state") -> bool:
        tok = self.raw(i, name)
        word = _BOOL.match(tok)
        if word is not None:
            return word == "ON"
        if tok[:1].isalpha():
            raise ScpiError(-224, f"{name}: expected ON, OFF, 1 or 0, got {tok[:40]!r}")
        if not _NUMERIC_START.match(tok):
            raise wrong_type(tok, name, "ON, OFF, 1 or 0")
        return round(parse_number(tok, name=name)) != 0

    def choice(self, i: int, options: Choice | Sequence[str], name: str = "value") -> str:
        """Character data among ``options`` (mixed-case mnemonics); returns the short form."""
        tok = self.raw(i, name)
        if not isinstance(options, Choice):
            options = Choice(options)
        word = options.match(tok)
        if word is None:
            if not _MNEMONIC.match(tok.strip()):
                raise wrong_type(tok, name, "one of " + ", ".join(options.mnemonics))
            if len(tok.strip()) > max(_MAX_CHAR_DATA, *(len(m) for m in options.mnemonics)):
                raise ScpiError(-144, f"{name}: character data too long")
            raise ScpiError(-224, f"{name}: {tok[:40]!r} not one of {', '.join(options.mnemonics)}")
        return word

    def string(self, i: int, name: str = "string", *, allow_bare: bool = False) -> str:
        """A quoted string; with ``allow_bare`` also unquoted character data."""
        tok = self.raw(i, name).strip()
        if len(tok) >= 2 and tok[0] in "'\"" and tok[-1] == tok[0]:
            q = tok[0]
            return tok[1:-1].replace(q + q, q)
        if allow_bare and _MNEMONIC.match(tok):
            return tok
        if tok[:1] in "'\"":
            raise ScpiError(-151, f"{name}: invalid string data")
        raise wrong_type(tok, name, "a quoted string")

    def mnemonic(self, i: int, name: str = "name") -> str:
        """Free character data such as an arbitrary-waveform name."""
        tok = self.raw(i, name).strip()
        if len(tok) >= 2 and tok[0] in "'\"" and tok[-1] == tok[0]:
            tok = tok[1:-1]
        if not _MNEMONIC.match(tok):
            raise ScpiError(-104, f"{name}: expected a name made of letters, digits and _")
        return tok

    def channel_list(self, i: int, name: str = "channel list") -> list[int]:
        """A channel list ``(@101,102:105)`` as a list of channel numbers in order."""
        tok = self.raw(i, name).strip()
        if not (tok.startswith("(") and tok.endswith(")")):
            raise ScpiError(-104, f"{name}: expected (@...)")
        body = tok[1:-1].strip()
        if not body.startswith("@"):
            raise ScpiError(-104, f"{name}: expected (@...)")
        body = body[1:].strip()
        channels: list[int] = []
        if not body:
            return channels
        for part in body.split(","):
            part = part.strip()
            if ":" in part:
                a, _, b = part.partition(":")
                if not (is_ascii_digits(a.strip()) and is_ascii_digits(b.strip())):
                    raise ScpiError(-102, f"{name}: bad range {part!r}")
                lo, hi = int(a), int(b)
                step = 1 if hi >= lo else -1
                if abs(hi - lo) > 100000:
                    raise ScpiError(-222, f"{name}: range {part!r} too long")
                channels.extend(range(lo, hi + step, step))
            elif is_ascii_digits(part):
                channels.append(int(part))
            else:
                raise ScpiError(-102, f"{name}: bad channel {part!r}")
        return channels

    def block(self, i: int, name: str = "block") -> str:
        """The payload of an arbitrary block parameter (as the str the transport delivered)."""
        tok = self.raw(i, name)
        if not tok.startswith("#") or len(tok) < 2 or not is_ascii_digits(tok[1]):
            raise wrong_type(tok, name, "an arbitrary block")
        if tok[1] == "0":
            return tok[2:]
        ndig = int(tok[1])
        return tok[2 + ndig :]

    def numbers(self, start: int, *, lo: float, hi: float, name: str = "value") -> list[float]:
        """Every parameter from ``start`` on as a number in [lo, hi] (plain numbers only)."""
        out: list[float] = []
        toks = self.tokens[start:]
        if not toks:
            raise ScpiError(-109, f"{name} list missing")
        try:
            out = [float(t) for t in toks]
        except ValueError:
            out = [parse_number(t, name=name) for t in toks]
        bad = [v for v in out if not (lo <= v <= hi)]
        if bad:
            raise ScpiError(-222, f"{name} {bad[0]:g} outside [{lo:g}, {hi:g}]")
        return out
