"""N TS-PCM cells: one threshold switch in series with one phase-change layer each, in virtual time.

The circuit of every driven cell: a source (voltage or current, with its compliance) -> the path
resistance -> the cell's top electrode, a node with capacitance to ground (probe, pad and the cell's own)
-> the threshold switch (bottom layer) in series with the PCM (top layer), one current through both. The
element equations are in :mod:`sim_backend.elements`, the stepper in :mod:`sim_backend.kernel` (compiled;
each cell with its own time steps); this module holds the state and the interface. Nothing here sleeps or
reads the wall clock.

Coupling is not added by hand. While the TS is off, the voltage divides between its off state and the
PCM, so a more amorphous PCM takes more of it and the cell fires at a higher voltage; when the TS fires,
the voltage it lets go of falls on the PCM, whose amorphous part switches too: one abrupt event at a
threshold set by the PCM state. The current then heats the PCM; heat crystallizes it (potentiation),
which lowers the next threshold and lets the next spike fire sooner and longer: the positive feedback.
A hotter pulse melts a dome that quenches amorphous (depression) unless the trailing edge is slow.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from sim_backend import kernel as kn
from sim_backend.elements import P_DAMAGE_TIME, P_ENDURANCE, P_SIGMA_READ, P_T_DAMAGE, READ_T_REF_S, splitmix64
from sim_backend.jit import DISABLED as JIT_DISABLED
from sim_backend.params import DeviceParams
from sim_backend.waveform import Waveform, WaveformError, _positive

_CELL_ZERO = np.zeros(1, np.int64)  # the one cell of a one-cell model (read-only arguments of the kernel)
_NO_SAMPLES = np.zeros(0)
PARALLEL_MIN_CELLS = 64  # below this, one thread (thread start-up costs more than it saves)
C_MIN_F = 1e-15  # the top electrode always has some capacitance: its pad, ~1 fF at least (below ~1e-16 F the
# node's time constant with the series resistance, ~1e-13 s, made the stepper take > 5e7 steps for 0.1 ms)


class ModelError(ValueError):
    """A request to the model is out of range (cell index, resistance, compliance, ...)."""


@dataclass
class Response:
    """What one :meth:`CellArray.apply` call returns, for the selected cells (axis 0) only.

    ``window_current_a`` / ``window_source_v`` / ``window_node_v``: time averages over each requested window
    (axis 1) of the source current, of the source's terminal voltage (its readback, folded back when the
    compliance acts) and of the voltage across the cell; ``window_compliance``: True where the compliance
    acted in that window. ``sample_t_s`` / ``sample_current_a``: the cell current at the requested times
    (held from step to step), as a sense resistor under the cell sees it. ``fires``: TS firings per cell.
    """

    cells: np.ndarray
    duration_s: float
    window_current_a: np.ndarray
    window_source_v: np.ndarray
    window_node_v: np.ndarray
    window_compliance: np.ndarray
    sample_t_s: np.ndarray
    sample_current_a: np.ndarray
    fires: np.ndarray
    peak_temperature_k: np.ndarray
    steps: np.ndarray

    @property
    def mean_current_a(self) -> np.ndarray:
        """Mean source current per cell over the first window (the whole call when no window was given)."""
        return self.window_current_a[:, 0]


class StateView:
    """Named, live views of a few state columns (read them; program states with :meth:`CellArray.set_state`)."""

    def __init__(self, model: CellArray):
        self._m = model

    def __getattr__(self, name):
        columns = {
            "vth_device_v": kn.S_VTH_DEV,
            "vth_cycle_v": kn.S_VTH_CYC,
            "t_off_s": kn.S_T_OFF,
            "u": kn.S_U,
            "temp_k": kn.S_TEMP,
            "t_eff_s": kn.S_T_EFF,
            "v_node_v": kn.S_VNODE,
            "r_cryst_ohm": kn.S_RC,
            "r_amorph_ohm": kn.S_RA,
            "cycles": kn.S_CYCLES,
        }
        if name in columns:
            return self._m.S[:, columns[name]]
        if name in ("ts_on", "pcm_on"):
            return self._m.S[:, kn.S_TS_ON if name == "ts_on" else kn.S_PCM_ON] > 0.5
        if name == "fire_count":
            return self._m.fire_count
        raise AttributeError(name)


def _seed_key(seed: int) -> np.uint64:
    with np.errstate(over="ignore"):
        return np.uint64(splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF)))


def _check_steps(steps: np.ndarray, duration_s: float) -> None:
    """Refuse a result for which some cell needed more than the kernel's step budget."""
    if (steps > kn.MAX_STEPS).any():
        raise ModelError(
            f"the model took more than {kn.MAX_STEPS} steps for {duration_s:g} s of waveform: a state it cannot "
            "resolve; please report it with the seed and stimulus"
        )


class CellArray:
    """N TS-PCM cells with their own variability draws, a virtual clock ``t_s`` and a chuck temperature."""

    def __init__(
        self,
        params: DeviceParams | None = None,
        shape: int | tuple[int, ...] = 1,
        seed: int = 0,
        ambient_k: float = 300.0,
    ):
        self.params = params or DeviceParams.load()
        self.p = self.params.vector()
        self.shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        if any(s < 1 for s in self.shape):
            raise ModelError(f"array shape must be positive, got {self.shape}")
        self.n = int(np.prod(self.shape))
        self.ambient_k = self._check_ambient(ambient_k)
        self.warnings: list[str] = []
        self.reset(seed)

    # --- construction ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Back to the as-fabricated array (same seed unless given): same draws, time 0."""
        if seed is not None:
            self.seed = int(seed)
        self.key = _seed_key(self.seed)
        self.t_s = 0.0
        self.S = np.zeros((self.n, kn.NS))
        self.rng = np.zeros(self.n, np.uint64)
        self.fire_count = np.zeros(self.n, np.int64)
        #: (r_series_ohm, source, ilimit_a, vlimit_v, c_node_f) -> :meth:`_drive_settings` of them, the
        #: capacitance at least C_MIN_F: an SMU reads again and again with the same settings, checked once
        self._settings: dict[tuple, tuple[int, float, float, float]] = {}
        self._obs_rng = np.random.default_rng(self.seed)
        self._warned: set[tuple[int, str]] = set()
        with np.errstate(over="ignore"):
            kn.init_cells(self.S, self.rng, self.key, self.p, self.ambient_k)

    @property
    def state(self) -> StateView:
        return StateView(self)

    def checkpoint(self) -> tuple:
        """Everything a drive changes (cell states, their random streams, clock, counters, warnings), for
        :meth:`restore`: a bench that runs a sweep ahead and then finds it should have stopped earlier
        (an SMU's failAbort at its limit) goes back and runs only the part the instrument would have."""
        return (
            self.S.copy(),
            self.rng.copy(),
            self.fire_count.copy(),
            self.t_s,
            self._obs_rng.bit_generator.state,
            set(self._warned),
            len(self.warnings),
        )

    def restore(self, checkpoint: tuple) -> None:
        """Back to a :meth:`checkpoint` of this array."""
        S, rng, fire_count, t_s, obs_state, warned, n_warnings = checkpoint
        self.S[...] = S
        self.rng[...] = rng
        self.fire_count[...] = fire_count
        self.t_s = t_s
        self._obs_rng.bit_generator.state = obs_state
        self._warned = set(warned)
        del self.warnings[n_warnings:]

    @staticmethod
    def _check_ambient(ambient_k: float) -> float:
        ambient_k = float(ambient_k)
        if not (np.isfinite(ambient_k) and 4.0 <= ambient_k <= 700.0):
            raise ModelError(f"ambient (chuck) temperature must be within [4, 700] K, got {ambient_k!r}")
        return ambient_k

    def set_ambient(self, ambient_k: float) -> None:
        """The chuck temperature (K): kinetics (crystallization, drift) and conduction follow it."""
        self.ambient_k = self._check_ambient(ambient_k)

    def set_state(self, selection=None, *, u: float | None = None, age_s: float | None = None) -> None:
        """Program cells directly (tests and demos): amorphous thickness ``u`` as a freshly solidified dome
        (no nuclei), drift clock ``age_s`` effective seconds since its melt, the TS off and recovered."""
        idx = self.cells(selection)
        if u is not None:
            u = float(u)
            if not 0.0 <= u <= 1.0:
                raise ModelError(f"u must be within [0, 1], got {u!r}")
            self.S[idx, kn.S_UQ] = u
            self.S[idx, kn.S_U] = u
            self.S[idx, kn.S_THETA] = 0.0
            self.S[idx, kn.S_THETA0] = 0.0
        if age_s is not None:
            if not (np.isfinite(age_s) and age_s >= 0):
                raise ModelError(f"age_s must be a finite time >= 0 s, got {age_s!r}")
            self.S[idx, kn.S_T_EFF] = float(age_s)
        self.S[idx, kn.S_TS_ON] = 0.0
        self.S[idx, kn.S_PCM_ON] = 0.0
        self.S[idx, kn.S_T_OFF] = 1.0
        self.S[idx, kn.S_VTH_START] = self.S[idx, kn.S_VTH_CYC]

    def cells(self, selection=None) -> np.ndarray:
        """Flat indices for a selection: None (all), an int, a flat index list, (row, col) pairs, or a mask."""
        if selection is None:
            return np.arange(self.n)
        arr = np.asarray(selection)
        if arr.dtype == bool:
            if arr.size != self.n:
                raise ModelError(f"a boolean cell mask must have {self.n} entries, got {arr.size}")
            return np.flatnonzero(arr.ravel())
        if arr.ndim == 2 and arr.shape[1] == len(self.shape) and len(self.shape) > 1:
            for axis, size in enumerate(self.shape):
                if np.any((arr[:, axis] < 0) | (arr[:, axis] >= size)):
                    raise ModelError(f"cell coordinates must be within {self.shape}, got {arr.tolist()}")
            return np.ravel_multi_index(tuple(arr.T), self.shape)
        idx = np.atleast_1d(arr).astype(np.int64).ravel()
        if idx.size == 0:
            raise ModelError("the cell selection is empty")
        if np.any((idx < 0) | (idx >= self.n)):
            raise ModelError(f"cell indices must be in [0, {self.n - 1}], got {idx.tolist()[:8]}")
        if idx.size == 1:
            return idx  # already sorted and unique (a fresh array: astype copied it); one cell is the commonest
        return np.unique(idx)

    # --- observables --------------------------------------------------------------------------------
    def pcm_conductance_s(self, selection=None, noise: bool = False) -> np.ndarray:
        """The PCM layer's own low-field conductance (S) at the chuck temperature: the ground truth that
        read methods are validated against. ``noise``: one 1 ms read's noise on top."""
        idx = self.cells(selection)
        g = np.empty(idx.size)
        kn.conductance(self.S, idx, self.p, self.ambient_k, g)
        if noise:
            g = g * (1 + self.S[idx, kn.S_NOISE] + self.p[P_SIGMA_READ] * self._obs_rng.standard_normal(idx.size) / 5)
        return g

    def ts_threshold_v(self, selection=None) -> np.ndarray:
        """The TS's present threshold (V), including recovery after its last turn-off."""
        return self._thresholds(selection)[0]

    def cell_threshold_v(self, selection=None) -> np.ndarray:
        """The cell's DC threshold at zero series resistance (V): the TS threshold plus the drop its off
        current makes across the PCM (the voltage division that makes intrinsic plasticity)."""
        return self._thresholds(selection)[1]

    def _thresholds(self, selection):
        idx = self.cells(selection)
        ts, cell = np.empty(idx.size), np.empty(idx.size)
        kn.thresholds(self.S, idx, self.p, self.ambient_k, ts, cell)
        return ts, cell

    def amorphous_fraction(self, selection=None) -> np.ndarray:
        return self.S[self.cells(selection), kn.S_U].copy()

    def temperature_k(self, selection=None) -> np.ndarray:
        return self.S[self.cells(selection), kn.S_TEMP].copy()

    def damage(self, selection=None) -> dict[str, np.ndarray]:
        """Ageing per cell: melt-quench ``cycles`` and seconds above the damage temperature."""
        idx = self.cells(selection)
        return {"cycles": self.S[idx, kn.S_CYCLES].copy(), "time_over_damage_s": self.S[idx, kn.S_T_OVER].copy()}

    def snapshot(self) -> dict:
        """Plain data for run files: parameters with provenance, shape, seed, clock, chuck, ageing."""
        return {
            "model": "sim_backend.model.CellArray",
            "model_version": 2,
            "shape": list(self.shape),
            "seed": self.seed,
            "time_s": self.t_s,
            "chuck_temperature_k": self.ambient_k,
            "compiled": not JIT_DISABLED,
            "max_cycles": float(self.S[:, kn.S_CYCLES].max()),
            "warnings": list(self.warnings),
            "parameters": self.params.as_records(),
        }

    # --- idle time ----------------------------------------------------------------------------------
    def idle(self, duration_s: float, selection=None) -> None:
        """Advance ``duration_s`` with no drive on ``selection`` (all cells by default; the clock moves only
        when all idle): cooling, turn-off and the quench are stepped, then recovery, drift and crystallization
        at the chuck temperature are analytic (a 1e4 s wait costs nothing)."""
        duration_s = float(duration_s)
        if not np.isfinite(duration_s) or duration_s < 0:
            raise ModelError(f"idle duration_s must be a finite time >= 0 s, got {duration_s!r}")
        if duration_s == 0:
            return
        idx = self.cells(selection)
        self._idle_cells(idx, duration_s)
        if selection is None:
            self.t_s += duration_s

    def _idle_cells(self, idx: np.ndarray, duration_s: float) -> None:
        S, p = self.S, self.p
        hot = (
            (S[idx, kn.S_TS_ON] > 0)
            | (np.abs(S[idx, kn.S_TEMP] - self.ambient_k) > 0.5)
            | (S[idx, kn.S_MPEAK] > 0)
            | (S[idx, kn.S_EP_HOT] > 0)
        )
        busy = idx[hot]
        if busy.size:
            settle = min(duration_s, 60 * self.params["pcm.tau_th_s"] + 10 * self.params["ts.tau_recovery_s"])
            self._run(
                Waveform.dc(0.0, settle),
                busy,
                mode=kn.MODE_OPEN,
                r_s=1.0,
                lim=0.0,
                cap=0.0,
                windows=np.array([[0.0, settle]]),
                samples=np.zeros(0),
            )
            rest = duration_s - settle
            if rest > 0:
                kn.idle_cells(S, self.rng, busy, self.key, p, rest, self.ambient_k)
            idx = idx[~hot]  # the rest, in order (np.setdiff1d's result, without its sort-based search)
        if idx.size:
            kn.idle_cells(S, self.rng, idx, self.key, p, duration_s, self.ambient_k)

    # --- driving ------------------------------------------------------------------------------------
    def apply(
        self,
        waveform: Waveform,
        selection=None,
        *,
        r_series_ohm: float = 50.0,
        ilimit_a: float | None = None,
        c_node_f: float = 0.0,
        windows_s=None,
        sample_times_s=None,
        source: str = "voltage",
        vlimit_v: float | None = None,
    ) -> Response:
        """Drive the selected cells with ``waveform`` through ``r_series_ohm`` each; the others idle.

        ``source="voltage"``: the waveform is volts at the source; ``ilimit_a`` its current compliance per
        cell (A), which folds the source voltage back as an SMU's does. ``source="current"``: the waveform
        is amperes; ``vlimit_v`` the source's voltage compliance. ``c_node_f``: capacitance from the top
        electrode to ground besides the cell's own (probe, pad; F). ``windows_s``: (k, 2) start/stop
        times (s, from the waveform start) to average over; default the whole waveform.
        ``sample_times_s``: times to sample the cell current at. Advances the clock by the duration.
        """
        if not isinstance(waveform, Waveform):
            raise WaveformError("waveform must be a sim_backend.waveform.Waveform")
        if (
            self.n == 1
            and windows_s is None
            and sample_times_s is None
            and waveform.times_s.size == 2
            and self._is_cell_zero(selection)
        ):
            return self._apply_one(waveform, r_series_ohm, ilimit_a, c_node_f, source, vlimit_v)
        idx = self.cells(selection)
        mode, r_s, lim, cap = self._drive_settings(r_series_ohm, source, ilimit_a, vlimit_v, c_node_f)
        T = waveform.duration_s
        windows = np.array([[0.0, T]]) if windows_s is None else np.asarray(windows_s, float).reshape(-1, 2)
        if (
            (~np.isfinite(windows)).any()
            or (windows[:, 1] <= windows[:, 0]).any()
            or (windows < 0).any()
            or (windows > T * (1 + 1e-12)).any()
        ):
            raise ModelError(f"windows_s must be (start, stop) pairs with 0 <= start < stop <= {T:g} s")
        if (windows[1:, 0] < windows[:-1, 1] - 1e-15).any():
            raise ModelError("windows_s must be sorted and must not overlap")
        samples = np.zeros(0) if sample_times_s is None else np.asarray(sample_times_s, float).ravel()
        if samples.size and ((~np.isfinite(samples)).any() or (np.diff(samples) < 0).any()):
            raise ModelError("sample_times_s must be finite and sorted")
        resp = self._run(waveform, idx, mode=mode, r_s=r_s, lim=lim, cap=cap, windows=windows, samples=samples)
        if idx.size < self.n:  # idx is unique: all cells driven leaves none to idle
            keep = np.ones(self.n, dtype=bool)  # np.setdiff1d(np.arange(n), idx)'s cells, in order, by a mask
            keep[idx] = False
            others = np.flatnonzero(keep)
            if others.size:
                self._idle_cells(others, T)
        self.t_s += T
        return resp

    @staticmethod
    def _drive_settings(r_series_ohm, source, ilimit_a, vlimit_v, c_node_f) -> tuple[int, float, float, float]:
        """The kernel's (mode, path resistance, limit (0: none), node capacitance) for a drive, checked."""
        r_s = float(r_series_ohm)
        if not math.isfinite(r_s) or r_s <= 0:
            raise ModelError(f"r_series_ohm must be a finite resistance > 0 Ohm, got {r_series_ohm!r}")
        if source == "voltage":
            limit, name, mode = ilimit_a, "ilimit_a", kn.MODE_VOLTAGE
        elif source == "current":
            limit, name, mode = vlimit_v, "vlimit_v", kn.MODE_CURRENT
        else:
            raise ModelError(f"source must be 'voltage' or 'current', got {source!r}")
        lim = 0.0 if limit is None else float(limit)
        if limit is not None and (not math.isfinite(lim) or lim <= 0):
            raise ModelError(f"{name} must be finite and > 0, got {limit!r}")
        cap = float(c_node_f)
        if not math.isfinite(cap) or cap < 0 or cap > 1e-6:
            raise ModelError(f"c_node_f must be a capacitance within [0, 1e-06] F, got {c_node_f!r}")
        return mode, r_s, lim, cap

    @staticmethod
    def _is_cell_zero(selection) -> bool:
        """True for the selections that mean cell 0 of a one-cell model (None, 0, [0]); anything else
        (including bad selections, which must raise as usual) takes the general path."""
        if selection is None:
            return True
        if isinstance(selection, np.ndarray):
            return (
                selection.dtype.kind in "iu" and selection.size == 1 and selection.ndim <= 1 and selection.item() == 0
            )
        return type(selection) is int and selection == 0

    def _apply_one(self, waveform: Waveform, r_series_ohm, ilimit_a, c_node_f, source, vlimit_v) -> Response:
        """:meth:`apply` for the commonest call, an SMU reading: one cell, a two-knot waveform (a DC level
        or one ramp), one window over all of it, no samples. The same checks and the same kernel call as
        the general path (whose breakpoint bookkeeping reduces to the single breakpoint at the end), with
        scalars instead of one-element array operations: identical results, a fraction of the overhead."""
        kt, kv = waveform.times_s, waveform.volts_v
        i, v, node, comp, fires, steps, peak, _ = self._run_one(
            float(kt[1]), float(kv[0]), float(kv[1]), r_series_ohm, ilimit_a, c_node_f, source, vlimit_v
        )
        return Response(
            cells=_CELL_ZERO.copy(),
            duration_s=waveform.duration_s,
            window_current_a=np.array([[i]]),
            window_source_v=np.array([[v]]),
            window_node_v=np.array([[node]]),
            window_compliance=np.array([[comp > 0]]),
            sample_t_s=_NO_SAMPLES.copy(),
            sample_current_a=np.zeros((1, 0)),
            fires=np.array([fires], np.int64),
            peak_temperature_k=np.array([peak]),
            steps=np.array([steps], np.int64),
        )

    def read_one(
        self,
        level: float,
        duration_s: float,
        *,
        r_series_ohm: float = 50.0,
        ilimit_a: float | None = None,
        c_node_f: float = 0.0,
        source: str = "voltage",
        vlimit_v: float | None = None,
    ) -> tuple[float, float, bool]:
        """``apply(Waveform.dc(level, duration_s), ...)`` on a one-cell model, reduced to what an SMU reading
        needs: (mean source current (A), mean source voltage (V), whether the compliance acted). The same
        checks, the same kernel call and the same state afterwards as :meth:`apply` (identical numbers,
        tested), without building a waveform, arrays or a :class:`Response`: the short path of a ``:READ?``."""
        if self.n != 1:
            raise ModelError(f"read_one drives the cell of a one-cell model; this one has {self.n} cells")
        duration_s = float(duration_s)
        if not 0.0 < duration_s < math.inf:  # checked as Waveform.dc checks it, first
            _positive("duration_s", duration_s)
        level = float(level)
        if not math.isfinite(level):
            raise WaveformError("level_v must be finite voltages (V); got NaN or infinity")
        i, v, _, comp, _, _, _, _ = self._run_one(
            duration_s, level, level, r_series_ohm, ilimit_a, c_node_f, source, vlimit_v
        )
        return float(i), float(v), bool(comp > 0)

    def _run_one(self, t_end, v_start, v_end, r_series_ohm, ilimit_a, c_node_f, source, vlimit_v) -> tuple:
        """One kernel call for cell 0 (see :func:`kernel.run_one`, which counts the fires), with the step
        budget, the ageing warnings and the clock kept as :meth:`_run` keeps them."""
        key = (r_series_ohm, source, ilimit_a, vlimit_v, c_node_f)
        try:
            mode, r_s, lim, cap = self._settings[key]
        except (KeyError, TypeError) as missing:  # new, or unhashable (a 0-d array for a limit: checked every time)
            mode, r_s, lim, cap = self._drive_settings(r_series_ohm, source, ilimit_a, vlimit_v, c_node_f)  # or raises
            cap = max(cap, C_MIN_F)
            if isinstance(missing, KeyError) and len(self._settings) < 64:
                self._settings[key] = (mode, r_s, lim, cap)
        args = (self.S, self.rng, self.key, self.p, t_end, v_start, v_end, mode, r_s, lim, cap)
        if JIT_DISABLED:  # overflow is silenced on the Python path only: compiled code ignores numpy's error state
            with np.errstate(over="ignore"):
                out = kn.run_one(*args, self.ambient_k, self.t_s, self.fire_count)
        else:
            out = kn.run_one(*args, self.ambient_k, self.t_s, self.fire_count)
        if out[5] > kn.MAX_STEPS:
            _check_steps(np.array([out[5]]), t_end)
        if out[7]:
            self._check_ageing(_CELL_ZERO, np.array([out[6]]))
        self.t_s += t_end
        return out

    def _run(self, waveform: Waveform, idx, *, mode, r_s, lim, cap, windows, samples) -> Response:
        kt, kv = waveform.times_s, waveform.volts_v
        T = waveform.duration_s
        # window edges within rounding of a waveform knot are that knot (k*s + s vs (k+1)*s): two breakpoints
        # an ulp apart would let a step start on the wrong side of a level change
        edges = windows.ravel()
        near = np.clip(np.searchsorted(kt, edges), 0, kt.size - 1)
        for cand in (near, np.maximum(near - 1, 0)):
            close = np.abs(kt[cand] - edges) <= 1e-12 * np.maximum(np.abs(edges), 1e-300)
            edges = np.where(close, kt[cand], edges)
        windows = edges.reshape(-1, 2)
        bps = np.unique(np.concatenate([kt, edges, [T]]))
        bps = bps[(bps > 0) & (bps <= T)]
        n, nw = idx.size, windows.shape[0]
        w_i, w_v, w_n, w_c = (np.zeros((n, nw)) for _ in range(4))
        smp = np.zeros((n, samples.size))
        fires, t_peak, steps = np.zeros(n, np.int64), np.zeros(n), np.zeros(n, np.int64)
        runner = kn.run_parallel if (n >= PARALLEL_MIN_CELLS and not JIT_DISABLED) else kn.run_serial
        args = (
            self.S,
            self.rng,
            idx.astype(np.int64),
            self.key,
            self.p,
            kt,
            kv,
            bps,
            mode,
            r_s,
            lim,
            max(cap, C_MIN_F),
            windows,
            samples,
            self.ambient_k,
            self.t_s,
            w_i,
            w_v,
            w_n,
            w_c,
            smp,
            fires,
            t_peak,
            steps,
        )
        if JIT_DISABLED:  # overflow is silenced on the Python path only: compiled code ignores numpy's error state
            with np.errstate(over="ignore"):
                runner(*args)
        else:
            runner(*args)
        _check_steps(steps, T)
        self.fire_count[idx] += fires
        self._check_ageing(idx, t_peak)
        return Response(
            cells=idx,
            duration_s=T,
            window_current_a=w_i,
            window_source_v=w_v,
            window_node_v=w_n,
            window_compliance=w_c > 0,
            sample_t_s=samples,
            sample_current_a=smp,
            fires=fires,
            peak_temperature_k=t_peak,
            steps=steps,
        )

    def _check_ageing(self, idx: np.ndarray, t_peak: np.ndarray) -> None:
        """Warn once per cell and cause when a cell is past half its endurance, over-heated, or worn out."""
        S, p = self.S, self.p
        over = t_peak > p[P_T_DAMAGE]
        half = S[idx, kn.S_CYCLES] > 0.5 * p[P_ENDURANCE]
        worn = S[idx, kn.S_T_OVER] > p[P_DAMAGE_TIME]
        if not (over.any() or half.any() or worn.any()):
            return  # the commonest case: the messages below are not even formatted
        causes = (
            (
                "over-heated",
                over,
                f"peak temperature above {p[P_T_DAMAGE]:g} K damages the cell (its window closes)",
            ),
            (
                "half-life",
                half,
                f"more than half of its endurance ({p[P_ENDURANCE]:g} melt-quench cycles) used",
            ),
            (
                "worn",
                worn,
                f"more than {p[P_DAMAGE_TIME]:g} s above the damage temperature in all",
            ),
        )
        for cause, hit, text in causes:
            for cell in idx[hit]:
                if (int(cell), cause) not in self._warned:
                    self._warned.add((int(cell), cause))
                    message = f"cell {int(cell)}: {text}"
                    self.warnings.append(message)
                    warnings.warn(message, RuntimeWarning, stacklevel=3)


__all__ = ["CellArray", "ModelError", "Response", "READ_T_REF_S"]
