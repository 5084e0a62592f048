"""The procedure library: measurement steps and pure extractors the procedures are built from.

Layers import one way: ``tspcm_lab`` (the application) -> ``procedures`` (one module per procedure, and
``procedures.base``) -> this library -> ``instruments`` (roles, ``BenchLike``, the clock) -> PyVISA ->
``sim_backend``. Modules here import only each other, ``instruments``, and third-party packages
(tests/test_layers.py checks it); they talk to the cell through a :class:`~instruments.benchlike.BenchLike`
(``bench.smu``, ``bench.pulse``, ``bench.scope``; ``bench.limit()``, ``bench.series_resistance_ohm()``,
``bench.clock``) and leave the outputs they used off. Units are SI and part of every name.

- :mod:`.read`: the two-point ON-branch conductance read and its parameters (``ConductanceReadMixin``)
- :mod:`.pulses`: pulses from the generator; SET and RESET pulses and their defaults
- :mod:`.program`: program-and-verify (``program_to_target``, ``ProgramParametersMixin``), target ladders
- :mod:`.threshold`: the cell threshold from a DC ramp or a pulse ladder
- :mod:`.events`: firing events in a captured current trace
- :mod:`.spikes`: spike trains and their captured response (``SpikeParametersMixin``)
- :mod:`.calibration`: the per-device spike-amplitude calibration (``SpikeCalibrationMixin``)
- :mod:`.forgetting`: train, forget by a partial RESET, retrain (``TrainForgetRetrainMixin``)
- :mod:`.values`: lists of numbers typed into one parameter
- pure extractors on plain arrays, which ``tspcm_lab.analysis`` builds on: :mod:`.switching` (Vth, Vhold
  from I-V sweeps), :mod:`.fitting`, :mod:`.drift` (drift exponent), :mod:`.learning` (savings, patterns)
- :mod:`.errors`: ``ParameterError``, the one parameter error of the project

The names below are the library's API for procedure modules (``from procedures import library as lib``).
"""

from instruments.clock import Clock, StopCheck, WallClock
from procedures.library.calibration import (
    Calibration,
    SpikeCalibrationMixin,
    amplitude_ladder,
    calibrate_amplitude,
    confirm_amplitude,
    emit_calibration,
)
from procedures.library.drift import Drift, drift_exponent
from procedures.library.errors import ParameterError
from procedures.library.events import (
    count_firing_events,
    crossings_s,
    events_per_window,
    firing_times_s,
    first_after_s,
    first_event_delays_s,
    rising_edges,
)
from procedures.library.forgetting import TrainForgetRetrainMixin
from procedures.library.learning import parse_pattern, savings, savings_or_nan
from procedures.library.program import (
    ProgramParametersMixin,
    ProgramResult,
    TargetLadderMixin,
    program_to_target,
    target_ladder,
)
from procedures.library.pulses import (
    RESET_AMPLITUDE_V,
    RESET_WIDTH_S,
    SET_AMPLITUDE_V,
    SET_WIDTH_S,
    apply_pulses,
    reset_pulse,
    set_pulse,
)
from procedures.library.read import (
    READ_COMPLIANCE_A,
    READ_FIRE_COMPLIANCE_A,
    READ_FIRE_VOLTAGE_V,
    READ_HIGH_VOLTAGE_V,
    READ_LOW_VOLTAGE_V,
    READ_METHOD_TEXT,
    READ_MIN_CURRENT_A,
    READ_NPLC,
    READ_TS_ON_RESISTANCE_OHM,
    ConductanceRead,
    ConductanceReadMixin,
    conductance_from_read,
    read_conductance,
)
from procedures.library.spikes import (
    ARB_MAX_POINTS,
    ARB_MIN_INTERVAL_S,
    FIRE_CURRENT_A,
    MAX_CAPTURE_POINTS,
    SAMPLES_PER_WIDTH,
    SpikeParametersMixin,
    SpikeTrain,
    TrainResponse,
    capture_interval_s,
    check_spike_train,
    configure_train,
    emit_trace,
    fire_train,
)
from procedures.library.threshold import (
    THRESHOLD_COMPLIANCE_A,
    PulseThreshold,
    ThresholdSweep,
    measure_pulse_threshold,
    measure_threshold,
    ramp_levels,
)
from procedures.library.values import parse_conductances, parse_values

__all__ = [
    "Clock",
    "StopCheck",
    "WallClock",
    "Calibration",
    "SpikeCalibrationMixin",
    "TrainForgetRetrainMixin",
    "amplitude_ladder",
    "calibrate_amplitude",
    "confirm_amplitude",
    "emit_calibration",
    "Drift",
    "drift_exponent",
    "ParameterError",
    "count_firing_events",
    "crossings_s",
    "events_per_window",
    "first_after_s",
    "first_event_delays_s",
    "firing_times_s",
    "rising_edges",
    "parse_pattern",
    "savings",
    "savings_or_nan",
    "ProgramParametersMixin",
    "ProgramResult",
    "TargetLadderMixin",
    "program_to_target",
    "target_ladder",
    "RESET_AMPLITUDE_V",
    "RESET_WIDTH_S",
    "SET_AMPLITUDE_V",
    "SET_WIDTH_S",
    "apply_pulses",
    "reset_pulse",
    "set_pulse",
    "READ_COMPLIANCE_A",
    "READ_FIRE_COMPLIANCE_A",
    "READ_FIRE_VOLTAGE_V",
    "READ_HIGH_VOLTAGE_V",
    "READ_LOW_VOLTAGE_V",
    "READ_METHOD_TEXT",
    "READ_MIN_CURRENT_A",
    "READ_NPLC",
    "READ_TS_ON_RESISTANCE_OHM",
    "ConductanceRead",
    "ConductanceReadMixin",
    "conductance_from_read",
    "read_conductance",
    "ARB_MAX_POINTS",
    "ARB_MIN_INTERVAL_S",
    "FIRE_CURRENT_A",
    "MAX_CAPTURE_POINTS",
    "SAMPLES_PER_WIDTH",
    "SpikeParametersMixin",
    "SpikeTrain",
    "TrainResponse",
    "capture_interval_s",
    "check_spike_train",
    "configure_train",
    "emit_trace",
    "fire_train",
    "THRESHOLD_COMPLIANCE_A",
    "PulseThreshold",
    "ThresholdSweep",
    "measure_pulse_threshold",
    "measure_threshold",
    "ramp_levels",
    "parse_conductances",
    "parse_values",
]
