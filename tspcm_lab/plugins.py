"""Procedure plugins: every procedure is found through the entry-point group ``tspcm_lab.procedures``.

Ours register in our ``pyproject.toml``; a lab's own package registers its procedures the same way,
without touching this code::

    [project.entry-points."tspcm_lab.procedures"]
    my-sweep = "mylab.procedures:MySweep"      # name used on the command line = "module:Class"

After ``pip install`` of that package, ``tspcm procedures`` lists ``my-sweep`` and
``tspcm run my-sweep --sim`` runs it. The class must be a PyMeasure ``Procedure``; for the runner's
checks it should follow ``procedures.base.TspcmProcedure`` (``REQUIRED_ROLES``, ``validate()``,
``bench``, outputs off in ``shutdown()``).

Discovery imports nothing: only the entry points' names and values are read, so a broken plugin shows up
as "cannot load" in ``tspcm procedures`` and never breaks the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

#: the entry-point group procedures register in
GROUP = "tspcm_lab.procedures"


class ProcedureLookupError(LookupError):
    """A procedure name that is unknown, registered twice, or whose class cannot be loaded."""


class UnknownProcedureError(ProcedureLookupError):
    """No procedure is registered under the name (nothing is installed that provides it)."""


@dataclass(frozen=True)
class ProcedureEntry:
    """One registered procedure (nothing imported yet)."""

    name: str  #: command-line name, e.g. "iv-sweep"
    value: str  #: "module:Class"
    distribution: str  #: the installed package that registers it ("" when unknown)

    def load(self) -> type:
        """Import the class; ProcedureLookupError (one line) when that fails or it is no Procedure."""
        ep = EntryPoint(name=self.name, value=self.value, group=GROUP)
        where = f"{self.value}" + (f" (from {self.distribution})" if self.distribution else "")
        try:
            cls = ep.load()
        except Exception as exc:  # any import failure of a plugin is reported, never propagated
            raise ProcedureLookupError(
                f"procedure {self.name!r} cannot be loaded from {where}: {type(exc).__name__}: {exc}"
            ) from exc
        from pymeasure.experiment import Procedure

        if not (isinstance(cls, type) and issubclass(cls, Procedure)):
            raise ProcedureLookupError(f"procedure {self.name!r} at {where} is not a PyMeasure Procedure class")
        return cls


def _distribution_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return (dist.metadata["Name"] or "") if dist is not None else ""


def registered() -> dict[str, list[ProcedureEntry]]:
    """Every name in the group -> its registrations (more than one when two packages use the same name).
    The same distribution found twice on sys.path counts once."""
    found: dict[str, list[ProcedureEntry]] = {}
    for ep in entry_points(group=GROUP):
        entry = ProcedureEntry(ep.name, ep.value, _distribution_name(ep))
        entries = found.setdefault(ep.name, [])
        if entry not in entries:
            entries.append(entry)
    return dict(sorted(found.items()))


def names() -> list[str]:
    """The names of every registered procedure, sorted."""
    return list(registered())


def find(name: str) -> ProcedureEntry:
    """The registration of ``name``; ProcedureLookupError naming the known ones, or both registrations
    when two packages claim the name."""
    found = registered()
    entries = found.get(name)
    if not entries:
        from tspcm_lab.cli import did_you_mean

        known = ", ".join(found) or "none (is the package installed? pip install -e .)"
        raise UnknownProcedureError(
            f"no procedure named {name!r}{did_you_mean(name, found)} (installed procedures: {known})"
        )
    if len({e.value for e in entries}) > 1:
        claims = "; ".join(f"{e.value} ({e.distribution or 'unknown package'})" for e in entries)
        raise ProcedureLookupError(
            f"procedure name {name!r} is registered by more than one package: {claims}; "
            f"uninstall one or rename its entry point"
        )
    return entries[0]


def load_procedure(name: str) -> type:
    """The procedure class registered as ``name``."""
    return find(name).load()


# ------------------------------------------------------------------------------------------------ describing
@dataclass
class ParameterInfo:
    """A parameter as the user sees it: key, label, type, units, default and what is allowed."""

    key: str
    label: str
    kind: str  #: the PyMeasure parameter class's name, for display
    units: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] = field(default_factory=list)
    description: str = ""
    allowed: str = "text"  #: the allowed values in words: "0.1 .. 5 V", "one of: dc, pulsed", "true or false"

    @classmethod
    def of(cls, key: str, parameter: Any) -> ParameterInfo:
        """The description of a PyMeasure parameter object."""
        from procedures.library.parameters import allowed_text, bound

        choices = getattr(parameter, "choices", None)
        return cls(
            key=key,
            label=parameter.name,
            kind=type(parameter).__name__,
            units=getattr(parameter, "units", None) or "",
            default=getattr(parameter, "default", None),
            minimum=bound(parameter, "minimum"),
            maximum=bound(parameter, "maximum"),
            choices=[str(c) for c in choices] if choices else [],
            description=getattr(parameter, "description", None) or "",
            allowed=allowed_text(parameter),
        )


def parameter_infos(procedure_class: type) -> list[ParameterInfo]:
    """The parameters of a procedure class in declaration order."""
    from tspcm_lab.store.params import from_procedure

    procedure = procedure_class()
    objects = procedure.parameter_objects()
    return [ParameterInfo.of(record.key, objects[record.key]) for record in from_procedure(procedure)]


def summary_line(procedure_class: type) -> str:
    """The first line of the class docstring."""
    doc = (procedure_class.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else ""
