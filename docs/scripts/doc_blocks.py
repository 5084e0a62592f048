"""The generated blocks of the docs: the text between ``<!-- NAME:start ... -->`` and ``<!-- NAME:end -->``, which
a script under docs/scripts rewrites from its own output (numbers in docs come from code)."""

from __future__ import annotations

import re
from pathlib import Path


def replace_block(doc: Path, name: str, block: str) -> None:
    """Put ``block`` (its markers included) in place of the NAME block of ``doc``; a doc without that block is an
    error naming both (the script would otherwise write the doc back unchanged, and say nothing)."""
    text = doc.read_text()
    if f"<!-- {name}:start" not in text:
        raise SystemExit(f"{doc}: no {name} markers")
    pattern = rf"<!-- {re.escape(name)}:start.*?<!-- {re.escape(name)}:end -->"
    doc.write_text(re.sub(pattern, lambda m: block, text, flags=re.S))
