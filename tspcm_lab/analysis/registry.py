"""Which run-level analysis handles which procedure.

A run file's root attribute ``procedure`` (its short name, e.g. "iv-sweep") selects a function
``func(run) -> RunAnalysis``. Ours register themselves when :mod:`tspcm_lab.analysis.runs` is imported; a
lab's plugin procedure registers its own with :func:`register_analysis`, or without touching our code through
the entry-point group ``tspcm_lab.analyses`` (name = procedure short name, value = "module:function").
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "tspcm_lab.analyses"

_REGISTRY: dict[str, Callable] = {}
_loaded = False  #: the entry points were read
_ours_loaded = False


class NoAnalysisError(LookupError):
    """No analysis is registered for a run's procedure."""


def register_analysis(procedure: str, func: Callable | None = None, *, replace: bool = False):
    """Register ``func(run) -> RunAnalysis`` for ``procedure``; usable as a decorator.

    Registering a second function for the same name is an error unless ``replace=True``.
    """
    if not isinstance(procedure, str) or not procedure:
        raise ValueError(f"procedure must be a non-empty short name, got {procedure!r}")

    def add(f: Callable) -> Callable:
        if not callable(f):
            raise TypeError(f"analysis for {procedure!r} must be callable, got {f!r}")
        if procedure in _REGISTRY and _REGISTRY[procedure] is not f and not replace:
            raise ValueError(f"an analysis is already registered for {procedure!r}; pass replace=True")
        _REGISTRY[procedure] = f
        return f

    return add if func is None else add(func)


def _load(procedure: str | None = None) -> None:
    """Register ours, then the entry points' (once): not needed when ``procedure`` is one of ours, since an
    entry point never replaces an analysis already registered (a key-figures line skips the scan)."""
    global _loaded, _ours_loaded
    if not _ours_loaded:
        _ours_loaded = True
        import tspcm_lab.analysis.runs  # noqa: F401  (registers ours)
    if _loaded or (procedure is not None and procedure in _REGISTRY):
        return
    _loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()


def get_analysis(procedure: str) -> Callable:
    """The analysis registered for ``procedure``; raises :class:`NoAnalysisError` naming the known ones."""
    _load(procedure)
    try:
        return _REGISTRY[procedure]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise NoAnalysisError(f"no analysis registered for procedure {procedure!r} (known: {known})") from None


def registered() -> list[str]:
    """Short names of every procedure with an analysis."""
    _load()
    return sorted(_REGISTRY)
