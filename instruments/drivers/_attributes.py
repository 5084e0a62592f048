"""PyMeasure's reserved-name check, the same behaviour at a fraction of the cost.

PyMeasure's ``CommonBase`` keeps the reserved names of an instrument's dynamic properties
(``<property>_values``, ``<property>_validator``... about 250 on a 33500 channel) in a list, and checks
every attribute read and write of the instrument against it: a scan of that list, through three
Python-level ``__getattribute__`` calls, for each of the ~20 attribute reads behind one property set.
On the simulated bench that was 5 % of a procedure's CPU time. :class:`ReservedNamesAsSet` keeps the
same names in a frozenset and does the same check in one call; put it first in the bases of each of
our driver and channel classes.
"""

from __future__ import annotations

from typing import Any

_get = object.__getattribute__
_set = object.__setattr__
#: CommonBase's name-mangled prefix for the instance copies of reserved names (``___<name>``)
_RESERVED_PREFIX = "___"


class ReservedNamesAsSet:
    """``CommonBase.__getattribute__``/``__setattr__`` with the reserved names in a frozenset."""

    def _setup_special_names(self) -> frozenset[str]:
        return frozenset(super()._setup_special_names())  # type: ignore[misc]

    def __getattribute__(self, name: str) -> Any:
        try:
            special = _get(self, "_special_names")
        except AttributeError:  # during __init__, before CommonBase has set it
            return _get(self, name)
        if name in special:
            raise AttributeError(f"{name} is a reserved variable name and it cannot be read")
        return _get(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            special = _get(self, "_special_names")
        except AttributeError:
            special = ()
        _set(self, _RESERVED_PREFIX + name if name in special else name, value)
