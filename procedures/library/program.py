"""Program-and-verify: bring the PCM to a target conductance (``program_to_target``), the one set of
parameters a procedure declares for it (``ProgramParametersMixin``) and the ladder of targets."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from instruments.benchlike import BenchLike
from instruments.clock import StopCheck
from procedures.library.errors import ParameterError
from procedures.library.parameters import ParameterGroups
from procedures.library.pulses import (
    RESET_AMPLITUDE_V,
    RESET_WIDTH_S,
    SET_AMPLITUDE_V,
    SET_WIDTH_S,
    reset_pulse,
    set_pulse,
)
from procedures.library.read import read_conductance


@dataclass
class ProgramResult:
    """Outcome of :func:`program_to_target`."""

    target_S: float
    conductance_S: float  #: the last read (S)
    converged: bool
    set_pulses: int = 0
    reset_pulses: int = 0
    reads: int = 0
    stopped: bool = False  #: the stop check asked to stop
    history_S: list[float] = field(default_factory=list)  #: every read, in order

    @property
    def pulses(self) -> int:
        return self.set_pulses + self.reset_pulses


def program_to_target(
    bench: BenchLike,
    g_target_S: float,
    *,
    tolerance: float = 0.2,
    max_pulses: int = 120,
    set_amplitude_v: float = SET_AMPLITUDE_V,
    set_width_s: float = SET_WIDTH_S,
    min_set_width_s: float = 20e-9,
    max_set_width_s: float = 2e-6,
    reset_amplitude_v: float = RESET_AMPLITUDE_V,
    reset_width_s: float = RESET_WIDTH_S,
    read: dict[str, Any] | None = None,
    should_stop: StopCheck = None,
) -> ProgramResult:
    """Program-and-verify the PCM to ``g_target_S`` (S) within ``tolerance`` (relative).

    Loop: read; within [target (1 - tol), target (1 + tol)]: done. Below (or below the read's range,
    NaN): one SET pulse; while the reads stay below the read's range the next is 1.5x longer (up to
    ``max_set_width_s``: a RESET-side cell's switching delay is long). Above: a full RESET pulse, and
    the SET pulse width halves (down to ``min_set_width_s``): the next approach takes smaller steps
    (crystallization accelerates itself, so an approach from the RESET end overshoots unless its steps
    shrink). Stops after ``max_pulses`` pulses (not converged) or when ``should_stop()`` is true.
    ``read``: keyword arguments of :func:`read_conductance`.
    """
    if not g_target_S > 0:
        raise ValueError(f"g_target_S must be > 0 S, got {g_target_S!r}")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (relative), got {tolerance!r}")
    read = dict(read or {})
    low, high = g_target_S * (1 - tolerance), g_target_S * (1 + tolerance)
    result = ProgramResult(g_target_S, math.nan, False)
    width = set_width_s  # for steps within the read's range; halves after each overshoot
    approach = set_width_s  # while below the read's range; grows until the pulses take hold
    approach_cap = max_set_width_s  # lowered whenever an approach pulse overshot the window
    last = ""  # what the last pulse was: "approach", "step" or "reset"
    while True:
        if should_stop is not None and should_stop():
            result.stopped = True
            return result
        g = read_conductance(bench, **read).conductance_S
        result.reads += 1
        result.history_S.append(g)
        result.conductance_S = g
        if low <= g <= high:
            result.converged = True
            return result
        if result.pulses >= max_pulses:
            return result
        if g > high:
            if last == "approach":  # one approach pulse went through the whole window: approach more finely
                approach_cap = max(approach / 1.5 / 1.5, min_set_width_s)
                approach = min(set_width_s, approach_cap)
            else:
                width = max(width / 2.0, min_set_width_s)
            reset_pulse(bench, reset_amplitude_v, reset_width_s)
            result.reset_pulses += 1
            last = "reset"
        elif math.isnan(g):  # below the read's range (the RESET end): lengthen until the pulses take hold
            set_pulse(bench, set_amplitude_v, approach)
            result.set_pulses += 1
            approach = min(approach * 1.5, approach_cap)
            last = "approach"
        else:
            set_pulse(bench, set_amplitude_v, width)
            result.set_pulses += 1
            last = "step"


class ProgramParametersMixin:
    """Program-and-verify to a target conductance (:func:`program_to_target`)."""

    #: names these parameters had in run files of threshold-vs-weight and retention before they shared
    #: this mixin (old name -> name); ``restore_procedure`` reads stored runs with them
    RENAMED_PARAMETERS = {"tolerance": "program_tolerance", "max_pulses": "program_max_pulses"}

    PARAMETER_GROUPS: ClassVar[ParameterGroups] = (
        (
            "Program and verify",
            (
                "program_tolerance",
                "program_max_pulses",
                "set_amplitude_V",
                "set_width_s",
                "reset_amplitude_V",
                "reset_width_s",
            ),
            True,
        ),
    )

    program_tolerance = FloatParameter("Program tolerance (relative)", minimum=0.01, maximum=0.9, default=0.2)
    program_max_pulses = IntegerParameter("Program max pulses", minimum=1, maximum=10_000, default=120)
    set_amplitude_V = FloatParameter("SET amplitude", units="V", minimum=0.1, maximum=10.0, default=SET_AMPLITUDE_V)
    set_width_s = FloatParameter("SET width", units="s", minimum=16e-9, maximum=1e-3, default=SET_WIDTH_S)
    reset_amplitude_V = FloatParameter(
        "RESET amplitude", units="V", minimum=0.1, maximum=10.0, default=RESET_AMPLITUDE_V
    )
    reset_width_s = FloatParameter("RESET width", units="s", minimum=16e-9, maximum=1e-3, default=RESET_WIDTH_S)

    if TYPE_CHECKING:  # given by the procedure this mixes into (TspcmProcedure, ConductanceReadMixin)
        bench: BenchLike
        should_stop: Callable[[], bool]
        read_settings: Callable[[], dict[str, Any]]

    def program(self, target_S: float) -> ProgramResult:
        return program_to_target(
            self.bench,
            target_S,
            tolerance=self.program_tolerance,
            max_pulses=int(self.program_max_pulses),
            set_amplitude_v=self.set_amplitude_V,
            set_width_s=self.set_width_s,
            reset_amplitude_v=self.reset_amplitude_V,
            reset_width_s=self.reset_width_s,
            read=self.read_settings(),
            should_stop=self.should_stop,
        )


def target_ladder(g_min: float, g_max: float, states: int, spacing: str = "log") -> np.ndarray:
    """``states`` conductances (S) from g_min to g_max, rising ("log" or "linear" spacing)."""
    if states == 1:
        return np.array([g_min])
    if spacing == "log":
        return np.geomspace(g_min, g_max, states)
    return np.linspace(g_min, g_max, states)


class TargetLadderMixin:
    """``states`` target conductances from ``target_min_S`` to ``target_max_S`` (log or linear spacing),
    programmed in rising order so that each state is reached by potentiation from the previous one.
    A procedure may declare other defaults by declaring the parameter again."""

    states = IntegerParameter("States", minimum=1, maximum=100, default=5)
    target_min_S = FloatParameter("Lowest target conductance", units="S", minimum=1e-7, maximum=1e-2, default=1e-6)
    target_max_S = FloatParameter("Highest target conductance", units="S", minimum=1e-7, maximum=1e-2, default=100e-6)
    spacing = ListParameter("Target spacing", choices=["log", "linear"], default="log")

    def targets(self) -> np.ndarray:
        """The target conductances (S), rising."""
        return target_ladder(self.target_min_S, self.target_max_S, self.states, self.spacing)

    def check_targets(self) -> None:
        if self.target_max_S < self.target_min_S:
            raise ParameterError("target_max_S", f"must be at least target_min_S ({self.target_min_S:g} S)")
