"""The virtual bench: one device model, the wiring between instrument terminals and cells, the switch
state and the virtual clock. Virtual instruments (``sim_backend.scpi``) act on the cells only through
the calls below, each of which advances virtual time the way the real action would take it.

Wiring of the default bench (see ``docs/model.md``): the SMU reaches the cell's top electrode through an
external series resistor (``smu_series_ohm``, the current-limiting resistor usual for threshold-switch
I-V), the AWG through its own 50 Ohm output; the cell's bottom electrode returns through the scope's
50 Ohm sense resistor (``sense_ohm``), so every path's resistance includes it. An output that is off is
high impedance. When several outputs are on, they drive the cell through their Thevenin combination and
each one's current is computed from the node voltage.

Arrays: with more than one cell, a cell is driven only when its (row, column) crosspoint is closed on
the switch matrix; selected cells are driven in parallel, each through its own path resistance, and an
instrument sees the sum of their currents (its compliance limit shared equally among them).

Threads: the calls below take ``model_lock`` (the model and the virtual clock are shared by every
instrument), and only they: an instrument answering ``*IDN?`` never waits for another's long sweep.
"""

from __future__ import annotations

import functools
import math
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim_backend.jit import njit
from sim_backend.measurement import Measurement
from sim_backend.model import CellArray
from sim_backend.params import DeviceParams, ParameterError
from sim_backend.waveform import Waveform

SOURCE_BUS, SENSE_BUS, MATRIX_HALF = 1, 2, 4  # 7709 wiring of array benches (see route())


SCOPE_BANDWIDTH_HZ = 100e6  # the DSOX1102G's analog bandwidth (70 or 100 MHz models)


@njit
def _first_order_lowpass(x, alpha):
    """y[0] = x[0]; y[n] = alpha x[n] + (1 - alpha) y[n-1], with the operations in the order of
    ``scipy.signal.lfilter([alpha], [1, alpha - 1], x, zi=[(1 - alpha) x[0]])`` (direct form II transposed),
    so the result is that one to the last bit; compiled, so scipy.signal (~1 s to import) is not needed."""
    a1 = alpha - 1.0
    y = np.empty_like(x)
    z = (1.0 - alpha) * x[0]
    for n in range(x.size):
        y[n] = z + alpha * x[n]
        z = x[n] * 0.0 - y[n] * a1
    return y


def scope_bandwidth(current_a: np.ndarray, dt_s: float, bandwidth_hz: float = SCOPE_BANDWIDTH_HZ) -> np.ndarray:
    """The sampled cell current as the scope's front end passes it: a first-order low-pass of the given
    bandwidth (a displacement spike of a few fC is smeared to microamperes, as on the real scope)."""
    if current_a.size < 2 or not dt_s > 0:
        return current_a.copy()
    alpha = 1.0 - np.exp(-2 * np.pi * bandwidth_hz * dt_s)
    return _first_order_lowpass(np.ascontiguousarray(current_a, dtype=np.float64), float(alpha))


class BenchSpecError(ValueError):
    """A simulated-bench spec string or file is malformed; the message names the key."""


@dataclass
class Wiring:
    smu_series_ohm: float = 1000.0  # external series resistor on the SMU path
    sense_ohm: float = 50.0  # scope input at the bottom electrode (every path returns through it)
    lead_ohm: float = 0.0  # probe and cable resistance
    c_probe_f: float = 0.2e-12  # capacitance at each cell's top electrode: probe needle, pad, any added capacitor


@dataclass
class Source:
    """A DC output's state as the instrument set it."""

    enabled: bool = False
    level_v: float = 0.0  # the source level: volts, or amperes for a current source
    ilimit_a: float | None = None  # a voltage source's current limit
    r_series_ohm: float | None = None  # the instrument's own output resistance (None: 0)
    mode: str = "voltage"  # "voltage" or "current"
    vlimit_v: float | None = None  # a current source's voltage limit


_NO_SOURCE = Source()  # what an output never set looks like (read only: a default for lookups)


@dataclass
class SweepResult:
    current_a: np.ndarray
    voltage_v: np.ndarray
    compliance: np.ndarray


@dataclass
class _Capture:
    record_s: float
    dt_s: float
    pretrigger_s: float
    trigger: str


@dataclass
class BenchConfig:
    seed: int = 0
    shape: tuple[int, ...] = (1,)
    device_file: str | None = None
    device_overrides: dict[str, float] = field(default_factory=dict)
    wiring: Wiring = field(default_factory=Wiring)
    chuck_temperature_k: float = 300.0


def _locked(method):
    """Run a VirtualBench method under the bench's ``model_lock``."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.model_lock:
            return method(self, *args, **kwargs)

    return locked


class VirtualBench:
    """Device model + wiring + switch state + clock, with the virtual instruments attached."""

    def __init__(self, config: BenchConfig | None = None, with_instruments: bool = True):
        self.config = config or BenchConfig()
        self.model_lock = threading.RLock()
        params = DeviceParams.load(self.config.device_file, self.config.device_overrides)
        self.model = CellArray(
            params, self.config.shape, seed=self.config.seed, ambient_k=self.config.chuck_temperature_k
        )
        self.wiring = self.config.wiring
        self.sources: dict[str, Source] = {}
        self.closed: set[tuple[int, int]] = set()
        self._armed: dict[str, _Capture] = {}
        self._captures: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self.instruments: dict[str, Any] = {}
        if with_instruments:
            from sim_backend.scpi import build_instruments

            self.instruments = build_instruments(self)

    # --- state --------------------------------------------------------------------------------------
    @property
    def now_s(self) -> float:
        with self.model_lock:
            return self.model.t_s

    @_locked
    def set_chuck_temperature(self, temperature_k: float) -> None:
        """The prober chuck's temperature (K), as a thermal chuck controller sets it: the cells' kinetics
        (crystallization, drift) and conduction follow it from now on."""
        self.model.set_ambient(temperature_k)

    def reset(self) -> None:
        """As freshly built: same seed, time 0, outputs off, switches open, instruments reset."""
        with self.model_lock:
            self.model.set_ambient(self.config.chuck_temperature_k)
            self.model.reset()
            self.sources.clear()
            self.closed.clear()
            self._armed.clear()
            self._captures.clear()
        for inst in self.instruments.values():  # outside the model lock: an instrument locks itself first
            inst.reset()

    @_locked
    def snapshot(self) -> dict:
        """The bench as plain data: wiring, switch state, outputs, and the device model."""
        return {
            "wiring": {k: v for k, v in vars(self.wiring).items()},
            "chuck_temperature_k": self.model.ambient_k,
            "closed_crosspoints": sorted([list(c) for c in self.closed]),
            "sources": {k: vars(v).copy() for k, v in self.sources.items()},
            "device": self.model.snapshot(),
        }

    @_locked
    def selected_cells(self) -> np.ndarray:
        """Flat indices of the cells the instruments reach now (crossbar: closed rows x closed columns)."""
        if self.model.n == 1:
            return np.array([0])
        rows = self.model.shape[0]
        cols = self.model.shape[1] if len(self.model.shape) > 1 else 1
        src_rows = sorted(c - 1 for r, c in self.closed if r == SOURCE_BUS and 1 <= c <= MATRIX_HALF and c <= rows)
        sense_cols = sorted(
            c - 1 - MATRIX_HALF for r, c in self.closed if r == SENSE_BUS and MATRIX_HALF < c <= MATRIX_HALF + cols
        )
        return np.array([r * cols + c for r in src_rows for c in sense_cols], dtype=np.int64)

    @_locked
    def route(self, closed) -> None:
        """Crosspoints (matrix row, matrix column), 1-based, that the 7709 matrix card now closes.

        Matrix row 1 is the source bus (SMU HI, AWG CH1) and reaches array row i on matrix column i+1;
        matrix row 2 is the sense bus (scope) and reaches array column j on matrix column 5+j. So one
        7709 addresses up to a 4x4 array; larger arrays are driven through the model's API directly.
        """
        self.closed = {(int(r), int(c)) for r, c in closed}

    def _path_ohm(self, name: str) -> float:
        src = self.sources[name]
        own = src.r_series_ohm if src.r_series_ohm is not None else self.wiring.smu_series_ohm
        return own + self.wiring.lead_ohm + self.wiring.sense_ohm

    @_locked
    def set_source(
        self,
        name: str,
        *,
        enabled: bool,
        level_v=None,
        ilimit_a=None,
        r_series_ohm=None,
        mode: str | None = None,
        vlimit_v=None,
    ) -> None:
        """Set a DC output's state; ``None`` keeps a field as it was. ``mode="current"``: ``level_v`` is in
        amperes and ``vlimit_v`` the voltage limit (an SMU sourcing current)."""
        src = self.sources.setdefault(name, Source())
        src.enabled = bool(enabled)
        if mode is not None:
            if mode not in ("voltage", "current"):
                raise ValueError(f"mode must be 'voltage' or 'current', got {mode!r}")
            src.mode = mode
        if vlimit_v is not None:
            src.vlimit_v = float(vlimit_v)
        if level_v is not None:
            if not math.isfinite(float(level_v)):
                raise ValueError(f"level_v must be a finite voltage, got {level_v!r}")
            src.level_v = float(level_v)
        if ilimit_a is not None:
            src.ilimit_a = float(ilimit_a)
        if r_series_ohm is not None:
            src.r_series_ohm = float(r_series_ohm)

    # --- the drive ------------------------------------------------------------------------------------
    def _drive(self, waveforms: dict[str, Waveform], duration_s: float, *, windows_s=None, sample_times_s=None):
        """Apply the enabled outputs (DC levels, or ``waveforms`` for those playing) for ``duration_s``.

        Returns (response or None, per-source Thevenin weights, equivalent resistance) so that callers
        can turn the cell current into each source's current.
        """
        active = [n for n, s in self.sources.items() if s.enabled] + [
            n for n in waveforms if not self.sources.get(n, _NO_SOURCE).enabled
        ]
        active = list(dict.fromkeys(active))
        cells = self.selected_cells()
        if not active or cells.size == 0:
            self.model.idle(duration_s)
            return None, {}, 0.0
        conductances = {n: 1.0 / self._path_ohm(n) for n in active}
        g_sum = sum(conductances.values())
        r_eq = 1.0 / g_sum
        weights = {n: g / g_sum for n, g in conductances.items()}
        # equivalent source: the weighted sum of the outputs' voltages
        playing = [n for n in active if n in waveforms]
        constant = sum(weights[n] * self.sources[n].level_v for n in active if n not in waveforms)
        if not playing:
            if constant == 0:
                self.model.idle(duration_s)
                return None, weights, r_eq
            wave = Waveform.dc(constant, duration_s)
        elif len(playing) == 1:
            w = waveforms[playing[0]]
            wave = Waveform(w.times_s, weights[playing[0]] * w.volts_v + constant)
        else:  # several outputs playing at once: sum on the union of their knots
            t = np.unique(np.concatenate([waveforms[n].times_s for n in playing]))
            wave = Waveform(t, sum(weights[n] * waveforms[n].value_at(t) for n in playing) + constant)
        lead = self.sources.get(active[0], _NO_SOURCE) if len(active) == 1 else None
        current_mode = any(self.sources.get(n, _NO_SOURCE).mode == "current" for n in active)
        if current_mode and len(active) > 1:
            raise ValueError("a current source cannot drive the cells together with another output")
        limit = None
        if lead is not None:
            limit = lead.vlimit_v if current_mode else (lead.ilimit_a / cells.size if lead.ilimit_a else None)
        if current_mode:
            wave = Waveform(wave.times_s, wave.volts_v / cells.size)  # the source current splits among the cells
        resp = self.model.apply(
            wave,
            cells,
            r_series_ohm=r_eq,
            ilimit_a=None if current_mode else limit,
            vlimit_v=limit if current_mode else None,
            source="current" if current_mode else "voltage",
            c_node_f=self.wiring.c_probe_f,
            windows_s=windows_s,
            sample_times_s=sample_times_s,
        )
        return resp, weights, r_eq

    def _source_current(self, name, resp, weights, r_eq, window_v=None):
        """Mean current (A) out of source ``name`` per window, from the summed cell current."""
        i_cell = resp.window_current_a.sum(axis=0)
        if len(weights) <= 1:
            return i_cell
        # node voltage = V_eq - I_cell * R_eq; source current = (V_src - V_node) / R_path
        v_eq = resp.window_source_v.mean(axis=0)
        v_node = v_eq - i_cell * r_eq
        v_src = self.sources[name].level_v if window_v is None else window_v
        return (v_src - v_node) / self._path_ohm(name)

    @_locked
    def wait(self, duration_s: float) -> None:
        """Virtual time passes with the DC outputs as they are."""
        duration_s = float(duration_s)
        if duration_s <= 0:
            return
        self._drive({}, duration_s)

    def measure(self, name: str, duration_s: float) -> Measurement:
        """Integrate source ``name``'s current over ``duration_s`` (advances the clock)."""
        duration_s = float(duration_s)
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0 s, got {duration_s!r}")
        with self.model_lock:  # as @_locked, written out: every SMU reading comes here
            start_s = self.model.t_s
            src = self.sources.get(name)
            if self._armed:
                self._maybe_immediate_captures(duration_s)
            elif (
                self.model.n == 1
                and src is not None
                and src.enabled
                and (len(self.sources) == 1 or self._lone_output(name))
            ):
                return self._measure_one(src, name, duration_s, start_s)
            resp, weights, r_eq = self._drive({}, duration_s)
            if src is None or not src.enabled:
                return Measurement(0.0, 0.0, False, start_s)
            if resp is None:
                return Measurement(0.0, src.level_v, False, start_s)
            if len(weights) == 1 and resp.cells.size == 1:  # one output, one cell: the one window as it is
                return Measurement(
                    float(resp.window_current_a[0, 0]),
                    float(resp.window_source_v[0, 0]),
                    bool(resp.window_compliance[0, 0]),
                    start_s,
                )
            current = float(self._source_current(name, resp, weights, r_eq)[0])
            voltage = float(resp.window_source_v.mean()) if len(weights) == 1 else src.level_v
            return Measurement(current, voltage, bool(resp.window_compliance.any()), start_s)

    def _lone_output(self, name: str) -> bool:
        """True when no output but ``name`` is on."""
        for other, s in self.sources.items():
            if s.enabled and other != name:
                return False
        return True

    def _measure_one(self, src: Source, name: str, duration_s: float, start_s: float) -> Measurement:
        """:meth:`measure` for the commonest case, an SMU reading of a one-cell bench with only ``src``
        (named ``name``) on: :meth:`_drive`'s arithmetic reduced to one source and one cell (weight 1, the
        same equivalent resistance and limit), then the model's short path :meth:`CellArray.read_one`
        instead of a waveform, a :class:`Response` and its arrays: the same numbers (tested against the
        general path), a fraction of the Python overhead."""
        g = 1.0 / self._path_ohm(name)
        r_eq = 1.0 / g  # _drive's 1 / (sum of the conductances), here one
        level = (g / g) * src.level_v  # _drive's weighted sum of the levels, here one weight of 1.0
        if level == 0:
            self.model.idle(duration_s)
            return Measurement(0.0, src.level_v, False, start_s)
        # a current source is limited in voltage, a voltage source in current (none when its limit is 0), as _drive
        current_mode = src.mode == "current"
        current, voltage, compliance = self.model.read_one(
            level,
            duration_s,
            r_series_ohm=r_eq,
            c_node_f=self.wiring.c_probe_f,
            source=src.mode,
            ilimit_a=None if current_mode else (src.ilimit_a or None),
            vlimit_v=src.vlimit_v if current_mode else None,
        )
        return Measurement(current, voltage, compliance, start_s)

    @_locked
    def sweep(
        self,
        name: str,
        levels_v,
        *,
        delay_s: float,
        aperture_s: float,
        ilimit_a: float | None = None,
        stop_on_compliance: bool = False,
    ) -> SweepResult:
        """A DC staircase from source ``name`` (output on during it), one reading per level: the mean
        over the last ``aperture_s`` of each ``delay_s + aperture_s`` step.

        ``stop_on_compliance``: the staircase ends at the first step whose reading is in compliance (an
        SMU sweep with failAbort): the readings end there and the cells and the clock are as if the rest
        was never applied. The whole staircase is one call of the compiled stepper (which releases the
        GIL) either way; when it reached the limit early, the model goes back to its state before the
        sweep and runs the staircase up to that step only."""
        if not stop_on_compliance:
            return self._sweep(name, levels_v, delay_s=delay_s, aperture_s=aperture_s, ilimit_a=ilimit_a)
        before = self.model.checkpoint()
        result = self._sweep(name, levels_v, delay_s=delay_s, aperture_s=aperture_s, ilimit_a=ilimit_a)
        hit = np.flatnonzero(result.compliance)
        if hit.size and hit[0] + 1 < result.compliance.size:
            self.model.restore(before)
            levels = np.asarray(levels_v, dtype=float).ravel()[: hit[0] + 1]
            result = self._sweep(name, levels, delay_s=delay_s, aperture_s=aperture_s, ilimit_a=ilimit_a)
        return result

    def _sweep(
        self, name: str, levels_v, *, delay_s: float, aperture_s: float, ilimit_a: float | None = None
    ) -> SweepResult:
        levels = np.asarray(levels_v, dtype=float).ravel()
        if levels.size == 0:
            return SweepResult(np.zeros(0), np.zeros(0), np.zeros(0, bool))
        if not (aperture_s > 0 and delay_s >= 0):
            raise ValueError(f"aperture_s must be > 0 s and delay_s >= 0 s, got {aperture_s!r}, {delay_s!r}")
        step = delay_s + aperture_s
        src = self.sources.setdefault(name, Source())
        was_enabled, was_level, was_limit = src.enabled, src.level_v, src.ilimit_a
        src.enabled = False  # the staircase below replaces its DC level
        if ilimit_a is not None:
            src.ilimit_a = float(ilimit_a)
        starts = np.arange(levels.size) * step
        windows = np.stack([starts + delay_s, starts + step], axis=1)
        try:
            self.sources[name].enabled = True
            wave = Waveform.staircase(levels, step)
            resp, weights, r_eq = self._drive({name: wave}, wave.duration_s, windows_s=windows)
        finally:
            src.enabled, src.level_v, src.ilimit_a = was_enabled, was_level, was_limit
        if resp is None:
            return SweepResult(np.zeros(levels.size), levels.copy(), np.zeros(levels.size, bool))
        current = self._source_current(name, resp, weights, r_eq, window_v=levels)
        voltage = resp.window_source_v.mean(axis=0) if len(weights) == 1 else levels
        return SweepResult(current, voltage, resp.window_compliance.any(axis=0))

    @_locked
    def play(self, name: str, times_s, volts_v, *, r_series_ohm: float = 50.0) -> None:
        """A piecewise-linear waveform from output ``name`` starting now; feeds armed captures."""
        src = self.sources.setdefault(name, Source())
        src.r_series_ohm = float(r_series_ohm)
        wave = Waveform(np.asarray(times_s, float) - float(times_s[0]), np.asarray(volts_v, float))
        duration = wave.duration_s
        armed = {k: c for k, c in self._armed.items() if c.trigger == "awg_sync"}
        samples = None
        if armed:
            cap = next(iter(armed.values()))
            n = max(int(round(cap.record_s / cap.dt_s)), 1)
            samples = -cap.pretrigger_s + np.arange(n) * cap.dt_s
            end = float(samples[-1]) + cap.dt_s
            if end > duration:  # the record runs past the waveform: the output idles at its last level
                wave = wave.then(Waveform.dc(float(wave.volts_v[-1]), end - duration))
                duration = end
        resp, weights, r_eq = self._drive(
            {name: wave}, duration, sample_times_s=None if samples is None else np.clip(samples, 0, None)
        )
        if armed:
            if resp is None:
                current = np.zeros(samples.size)
            else:
                current = resp.sample_current_a.sum(axis=0)
                current = np.where(samples < 0, current[0] if current.size else 0.0, current)
            for scope_name in armed:
                self._captures[scope_name] = (
                    samples.copy(),
                    scope_bandwidth(current, float(samples[1] - samples[0]) if samples.size > 1 else cap.dt_s),
                )
                del self._armed[scope_name]

    @_locked
    def arm_capture(
        self, name: str, *, record_s: float, dt_s: float, pretrigger_s: float = 0.0, trigger: str = "awg_sync"
    ) -> None:
        """Arm a single acquisition: ``awg_sync`` waits for the next ``play``; ``immediate`` triggers at
        the next measurement or wait (free-running record of the DC state)."""
        if not (record_s > 0 and dt_s > 0):
            raise ValueError(f"record_s and dt_s must be > 0 s, got {record_s!r}, {dt_s!r}")
        if trigger not in ("awg_sync", "immediate"):
            raise ValueError(f"trigger must be 'awg_sync' or 'immediate', got {trigger!r}")
        self._armed[name] = _Capture(float(record_s), float(dt_s), float(pretrigger_s), trigger)
        self._captures.pop(name, None)  # a new acquisition: the previous record is gone
        if trigger == "immediate":
            self._maybe_immediate_captures(float(record_s))

    def _maybe_immediate_captures(self, duration_s: float) -> None:
        for name, cap in list(self._armed.items()):
            if cap.trigger != "immediate":
                continue
            del self._armed[name]
            n = max(int(round(cap.record_s / cap.dt_s)), 1)
            samples = np.arange(n) * cap.dt_s
            resp, _, _ = self._drive({}, cap.record_s, sample_times_s=samples)
            current = np.zeros(n) if resp is None else resp.sample_current_a.sum(axis=0)
            self._captures[name] = (samples - cap.pretrigger_s, scope_bandwidth(current, cap.dt_s))

    @_locked
    def capture(self, name: str):
        """The last completed capture as (t_s from the trigger, current_a), or None."""
        return self._captures.get(name)


# --- specs ----------------------------------------------------------------------------------------
def parse_spec(spec: str) -> BenchConfig:
    """``""``/``"default"``; ``"seed=42"``; ``"array=4x4"``; ``"c_probe=1e-11"``; ``"chuck_temperature_k=358"``; ``"device=FILE"``;
    a device parameter (``"pcm.heat_coupling=0"``); a path to a bench TOML file; options joined with ``;``."""
    cfg = BenchConfig()
    spec = (spec or "").strip()
    if spec in ("", "default"):
        return cfg
    for part in [p.strip() for p in spec.split(";") if p.strip()]:
        if "=" not in part:
            path = Path(part)
            if path.suffix.lower() == ".toml" or path.exists():
                _apply_file(cfg, path)
                continue
            raise BenchSpecError(f"bench spec part {part!r} is neither key=value nor an existing bench file")
        key, value = (s.strip() for s in part.split("=", 1))
        _apply_option(cfg, key, value, "bench spec")
    return cfg


def _apply_option(cfg: BenchConfig, key: str, value, where: str) -> None:
    try:
        if key == "seed":
            cfg.seed = int(value)
        elif key in ("array", "shape"):
            dims = value if isinstance(value, list) else str(value).lower().split("x")
            cfg.shape = tuple(int(d) for d in dims)
            if not 1 <= len(cfg.shape) <= 2 or any(d < 1 or d > 1024 for d in cfg.shape):
                raise ValueError
        elif key == "device":
            cfg.device_file = str(value)
        elif key in ("c_probe", "c_probe_f"):
            cfg.wiring.c_probe_f = float(value)
            if not 0 <= cfg.wiring.c_probe_f <= 1e-6:
                raise ValueError
        elif key in ("chuck_temperature_k", "chuck_k"):
            cfg.chuck_temperature_k = float(value)
            if not 4 <= cfg.chuck_temperature_k <= 700:
                raise ValueError
        elif key in ("smu_series_ohm", "sense_ohm", "lead_ohm"):
            setattr(cfg.wiring, key, _finite(value, 0.0))
        elif key.split(".")[0] in ("ts", "pcm") and "." in key:
            cfg.device_overrides[key] = _finite(value)  # ranges checked by DeviceParams.load
        else:
            raise BenchSpecError(
                f"{where}: unknown key {key!r}; allowed: seed, array (RxC), device (file), c_probe_f (F, 0..1e-6), chuck_temperature_k (K, 4..700), smu_series_ohm, sense_ohm, lead_ohm, or a device parameter such as pcm.heat_coupling"
            )
    except BenchSpecError:
        raise
    except (TypeError, ValueError):
        raise BenchSpecError(f"{where}: bad value {value!r} for {key!r}") from None


def _finite(value, minimum: float | None = None) -> float:
    """A finite float (at least ``minimum``); ValueError otherwise ("1e400" reads as infinity)."""
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ValueError(f"{value!r} is not a finite number" + (f" >= {minimum:g}" if minimum is not None else ""))
    return number


def _apply_file(cfg: BenchConfig, path: Path) -> None:
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BenchSpecError(f"bench file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchSpecError(f"bench file {path} is not valid TOML: {exc}") from None
    sim = doc.get("sim", doc)
    for key, value in sim.items():
        if key == "device" and isinstance(value, dict):
            for section, body in value.items():
                if isinstance(body, dict):
                    cfg.device_overrides.update({f"{section}.{k}": v for k, v in body.items()})
                else:
                    cfg.device_overrides[section] = body
        elif key == "wiring" and isinstance(value, dict):
            for k, v in value.items():
                _apply_option(cfg, k, v, f"bench file {path} [wiring]")
        elif isinstance(value, dict):
            continue  # other tables (e.g. the instrument roles of a tspcm bench config) are not ours
        else:
            _apply_option(cfg, key, value, f"bench file {path}")


def open_bench(spec: str = "") -> VirtualBench:
    """A fresh virtual bench from a spec string (see :func:`parse_spec`)."""
    cfg = parse_spec(spec)
    try:
        return VirtualBench(cfg)
    except ParameterError as exc:
        raise BenchSpecError(str(exc)) from None
