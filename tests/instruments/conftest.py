"""Make ``import instruments`` mean the project's package, however pytest is started.

This folder is ``tests/instruments`` without ``__init__.py``; pytest puts ``tests/`` on sys.path
(for the top-level conftest), where ``instruments`` is then a namespace package that would shadow
the real one whenever the repository root is not on sys.path (plain ``pytest`` instead of
``python -m pytest``). Putting the root first settles it.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT in sys.path:
    sys.path.remove(ROOT)
sys.path.insert(0, ROOT)
