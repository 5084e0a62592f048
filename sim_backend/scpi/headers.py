"""Command headers written as in the manuals, compiled into matchers.

Pattern syntax (the manuals' notation, plus two markers):
- ``:SOURce:VOLTage:LEVel`` nodes in mixed case: the upper-case part is the short form, the whole
  word the long form; either matches, in any case (``sour``, ``SOURCE``), nothing in between.
- ``[:LEVel]`` an optional node.
- ``SOURce#`` a node that takes a numeric suffix (``SOUR2``); omitted means 1.
- ``{VOLTage|CURRent}`` alternatives; the handler learns which one was sent (its short form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .params import mnemonic_forms

_TYPED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*?)(\d*)$", re.ASCII)


@dataclass(frozen=True)
class Node:
    forms: tuple[tuple[str, str, str], ...]  # (short, long, canonical short) per alternative
    optional: bool
    suffix: bool
    is_alt: bool


def compile_pattern(pattern: str) -> tuple[Node, ...]:
    """Compile ``"[:SOURce#]:{VOLTage|CURRent}[:LEVel]"`` into a tuple of nodes."""
    nodes: list[Node] = []
    i = 0
    text = pattern.strip()
    while i < len(text):
        optional = text[i] == "["
        if optional:
            j = text.index("]", i)
            body = text[i + 1 : j]
            i = j + 1
        else:
            j = i + 1 if text[i] == ":" else i
            while j < len(text) and text[j] not in ":[":
                j += 1
            body = text[i:j]
            i = j
        body = body.lstrip(":")
        if not body:
            continue
        is_alt = body.startswith("{")
        if is_alt:
            body = body.strip("{}")
        suffix = False
        forms = []
        for word in body.split("|"):
            if word.endswith("#"):
                suffix = True
                word = word[:-1]
            short, long = mnemonic_forms(word)
            forms.append((short, long, short))
        nodes.append(Node(tuple(forms), optional, suffix, is_alt))
    if not nodes:
        raise ValueError(f"empty SCPI pattern {pattern!r}")
    return tuple(nodes)


def split_typed(mnemonic: str) -> tuple[str, str] | None:
    """Split a typed mnemonic into (upper-case base, suffix digits) or None if malformed."""
    m = _TYPED.match(mnemonic)
    if m is None:
        return None
    return m.group(1).upper(), m.group(2)


def match(nodes: tuple[Node, ...], typed: list[tuple[str, str]]):
    """Match typed (base, suffix) mnemonics against nodes.

    Returns ``(suffixes, alternatives)`` or None. Suffix nodes contribute an int (1 when omitted,
    also when an optional suffix node is skipped); alternative nodes their canonical short form
    ("" when an optional alternative node is skipped).
    """
    return _match(nodes, 0, typed, 0)


def _match(nodes, i, typed, j):
    if i == len(nodes):
        return ((), ()) if j == len(typed) else None
    node = nodes[i]
    if j < len(typed):
        base, digits = typed[j]
        if not digits or node.suffix:
            for short, long, canon in node.forms:
                if base == short or base == long:
                    rest = _match(nodes, i + 1, typed, j + 1)
                    if rest is not None:
                        sfx = ((int(digits) if digits else 1),) if node.suffix else ()
                        alt = (canon,) if node.is_alt else ()
                        return sfx + rest[0], alt + rest[1]
                    break
    if node.optional:
        rest = _match(nodes, i + 1, typed, j)
        if rest is not None:
            sfx = (1,) if node.suffix else ()
            alt = ("",) if node.is_alt else ()
            return sfx + rest[0], alt + rest[1]
    return None
