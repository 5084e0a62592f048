"""A vectorized model of N TS-PCM cells: one threshold switch in series with one phase-change layer each.

The circuit of every driven cell: source ``V_src`` -> series resistance ``R_s`` -> cell top electrode;
optional capacitance ``C`` across the cell; TS (bottom) and PCM (top) carry the same current. The element
equations are in :mod:`sim_backend.elements`; this module holds the state, solves the series circuit and
steps it through a voltage waveform in virtual time. Nothing here sleeps or reads the wall clock.

Coupling is not added by hand: the TS fires when the voltage that divides onto it exceeds its threshold;
the current that firing lets through heats the PCM (its own Joule power plus a fraction of the TS's);
heat crystallizes the PCM (potentiation) or melts it (RESET); a more crystalline PCM needs less voltage to
switch its remaining amorphous part, so the cell fires at a lower applied voltage, which lets more
current through on the next spike: the positive feedback of the paper.

Time stepping is adaptive: small steps where something happens (edges, firing delays, thermal and
capacitive transients, recovery), large steps across quiet stretches; breakpoints at every waveform
knot and integration-window edge, so window means are exact integrals of the stepped current.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim_backend import elements as el
from sim_backend.params import DeviceParams
from sim_backend.waveform import Waveform, WaveformError

DT_MIN_S = 2e-11  # smallest step: resolves ns edges and the ns thermal time constant
GROWTH = 4.0
MAX_STEPS = 5_000_000  # a guard against a state the stepper cannot resolve: an error, never a hang  # step growth factor across quiet stretches


class ModelError(ValueError):
    """A request to the model is out of range (cell index, resistance, compliance, ...)."""


@dataclass
class Response:
    """What one :meth:`CellArray.apply` call returns, for the selected cells (axis 0) only.

    ``window_current_a`` / ``window_source_v``: time-averaged cell current and effective source voltage
    over each requested window (axis 1), ``window_compliance``: True where the compliance limit acted in
    that window. ``sample_t_s`` / ``sample_current_a``: the current at the requested sample times (zero-
    order hold of the stepped solution). ``fires``: TS firing events per cell during the call.
    """

    cells: np.ndarray
    duration_s: float
    window_current_a: np.ndarray
    window_source_v: np.ndarray
    window_compliance: np.ndarray
    sample_t_s: np.ndarray
    sample_current_a: np.ndarray
    fires: np.ndarray
    peak_temperature_k: np.ndarray
    steps: int

    @property
    def mean_current_a(self) -> np.ndarray:
        """Mean current per cell over the first window (the whole call when no window was given)."""
        return self.window_current_a[:, 0]


@dataclass
class CellState:
    """Per-cell state arrays (length N)."""

    vth_device_v: np.ndarray  # device-to-device mean TS threshold
    vth_cycle_v: np.ndarray  # this cycle's threshold draw
    ts_on: np.ndarray
    t_off_s: np.ndarray  # time since the TS last turned off
    delay_progress: np.ndarray  # fraction of the switching delay already spent above threshold
    u: np.ndarray  # PCM amorphous fraction, 0 = crystalline
    temp_k: np.ndarray
    pcm_on: np.ndarray  # amorphous part threshold-switched
    t_quench_s: np.ndarray  # model time of the last melt-quench (drift clock)
    molten_peak: np.ndarray  # largest molten fraction of the present melt episode
    v_node_v: np.ndarray  # voltage across the cell capacitance
    g_cryst_s: np.ndarray
    g_amorph_s: np.ndarray
    vt_factor: np.ndarray  # this cycle's draw of the amorphous threshold, relative
    fire_count: np.ndarray = field(default=None)


class CellArray:
    """N TS-PCM cells with their own variability draws, a virtual clock ``t_s`` and one random stream."""

    def __init__(self, params: DeviceParams | None = None, shape: int | tuple[int, ...] = 1, seed: int = 0):
        self.params = params or DeviceParams.load()
        self.shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        if any(s < 1 for s in self.shape):
            raise ModelError(f"array shape must be positive, got {self.shape}")
        self.n = int(np.prod(self.shape))
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.t_s = 0.0
        self.state = self._fresh_state()

    # --- construction ------------------------------------------------------------------------------
    def _fresh_state(self) -> CellState:
        p, n, rng = self.params, self.n, self.rng
        vth_dev = p["ts.vth_v"] * (1 + p["ts.vth_d2d_rel"] * rng.standard_normal(n))
        vth_dev = np.maximum(vth_dev, p["ts.vhold_v"] + 0.05)
        g_c = p["pcm.g_cryst_s"] * np.exp(p["pcm.g_d2d_rel"] * rng.standard_normal(n))
        g_a = p["pcm.g_amorph_s"] * np.exp(p["pcm.g_d2d_rel"] * rng.standard_normal(n))
        st = CellState(
            vth_device_v=vth_dev,
            vth_cycle_v=np.empty(n),
            ts_on=np.zeros(n, bool),
            t_off_s=np.full(n, np.inf),
            delay_progress=np.zeros(n),
            u=np.full(n, p["pcm.u_initial"]),
            temp_k=np.full(n, p["pcm.t_ambient_k"]),
            pcm_on=np.zeros(n, bool),
            t_quench_s=np.zeros(n),
            molten_peak=np.zeros(n),
            v_node_v=np.zeros(n),
            g_cryst_s=g_c,
            g_amorph_s=g_a,
            vt_factor=np.ones(n),
            fire_count=np.zeros(n, np.int64),
        )
        self.state = st
        self._redraw_vth(np.arange(n))
        return st

    def reset(self, seed: int | None = None) -> None:
        """Back to the as-fabricated array (same seed unless given): same draws, time 0."""
        self.seed = self.seed if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.t_s = 0.0
        self.state = self._fresh_state()

    def cycle_draws(self, vth_device_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new cycle's TS threshold (V) and relative amorphous-threshold factor for devices with these
        mean thresholds: every turn-off starts a new cycle."""
        p, n = self.params, vth_device_v.size
        vth = np.maximum(vth_device_v * (1 + p["ts.vth_c2c_rel"] * self.rng.standard_normal(n)), p["ts.vhold_v"] + 0.02)
        return vth, np.maximum(1 + p["pcm.vt_c2c_rel"] * self.rng.standard_normal(n), 0.5)

    def _redraw_vth(self, idx: np.ndarray) -> None:
        st = self.state
        st.vth_cycle_v[idx], st.vt_factor[idx] = self.cycle_draws(st.vth_device_v[idx])

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
        return np.unique(idx)

    # --- observables --------------------------------------------------------------------------------
    def drift_factor(self, idx: np.ndarray, at_s: float | None = None) -> np.ndarray:
        p = self.params
        age = (self.t_s if at_s is None else at_s) - self.state.t_quench_s[idx]
        return el.pcm_drift_factor(age, p["pcm.t0_drift_s"], p["pcm.nu_drift"])

    def pcm_conductance_s(self, selection=None, noise: bool = False) -> np.ndarray:
        """The PCM layer's own low-field conductance (S): ground truth for validating read methods."""
        idx = self.cells(selection)
        st = self.state
        g = el.pcm_conductance(st.u[idx], st.g_cryst_s[idx], st.g_amorph_s[idx], self.drift_factor(idx))
        if noise:
            g = g * (1 + self.params["pcm.sigma_read_rel"] * self.rng.standard_normal(idx.size))
        return g

    def ts_threshold_v(self, selection=None) -> np.ndarray:
        """The TS's present threshold (V), including recovery after its last turn-off."""
        idx = self.cells(selection)
        p, st = self.params, self.state
        return el.ts_vth_recovered(st.vth_cycle_v[idx], p["ts.vhold_v"], st.t_off_s[idx], p["ts.tau_recovery_s"])

    def cell_threshold_v(self, selection=None) -> np.ndarray:
        """Estimated applied voltage (at zero series resistance) at which the cell fires and stays on:
        the TS threshold plus the off current's drop across the PCM, or the TS hold voltage plus the
        amorphous part's own threshold, whichever is higher."""
        idx = self.cells(selection)
        p, st = self.params, self.state
        g = self.pcm_conductance_s(idx)
        ts = self.ts_threshold_v(idx) + p["ts.i_th_a"] / g
        pcm = p["ts.vhold_v"] + st.u[idx] * p["pcm.vt_full_v"] * st.vt_factor[idx]
        return np.maximum(ts, pcm)

    def amorphous_fraction(self, selection=None) -> np.ndarray:
        return self.state.u[self.cells(selection)].copy()

    def temperature_k(self, selection=None) -> np.ndarray:
        return self.state.temp_k[self.cells(selection)].copy()

    def snapshot(self) -> dict:
        """Plain data for run files: parameters with provenance, shape, seed, clock."""
        return {
            "model": "sim_backend.model.CellArray",
            "shape": list(self.shape),
            "seed": self.seed,
            "time_s": self.t_s,
            "parameters": self.params.as_records(),
        }

    # --- idle time ----------------------------------------------------------------------------------
    def idle(self, duration_s: float) -> None:
        """Advance ``duration_s`` with no drive: TS off, cooling, drift and recovery are analytic."""
        duration_s = float(duration_s)
        if not np.isfinite(duration_s) or duration_s < 0:
            raise ModelError(f"idle duration_s must be a finite time >= 0 s, got {duration_s!r}")
        if duration_s == 0:
            return
        p, st = self.params, self.state
        hot = st.temp_k > p["pcm.t_glass_k"]
        if (hot).any() or (st.molten_peak > 0).any():
            # cooling through the crystallization window and the quench need stepping, briefly
            settle = min(duration_s, 30 * p["pcm.tau_th_s"])
            self.apply(Waveform.dc(0.0, settle), np.flatnonzero(hot | (st.molten_peak > 0)), r_series_ohm=1e12)
            duration_s -= settle
            if duration_s <= 0:
                return
        was_on = st.ts_on.copy()
        st.ts_on[:] = False
        st.pcm_on[:] = False
        st.delay_progress[:] = 0
        if (was_on).any():
            st.t_off_s[was_on] = 0.0
            self._redraw_vth(np.flatnonzero(was_on))
        st.t_off_s += duration_s
        t_amb = p["pcm.t_ambient_k"]
        st.temp_k = t_amb + (st.temp_k - t_amb) * np.exp(-duration_s / p["pcm.tau_th_s"])
        st.v_node_v[:] = 0.0
        self.t_s += duration_s

    # --- driving ------------------------------------------------------------------------------------
    def apply(
        self,
        waveform: Waveform,
        selection=None,
        *,
        r_series_ohm: float = 50.0,
        ilimit_a: float | None = None,
        c_cell_f: float | None = None,
        windows_s=None,
        sample_times_s=None,
        fire_current_a: float = 20e-6,
    ) -> Response:
        """Drive the selected cells with ``waveform`` (V at the source) through ``r_series_ohm`` each.

        ``ilimit_a``: source current compliance per cell (A); the source voltage folds back so that the
        cell current never exceeds it, as an SMU's does. ``c_cell_f``: capacitance across each cell (F;
        default from the parameters). ``windows_s``: (k, 2) start/stop times (s, from the waveform start)
        to average over; default the whole waveform. ``sample_times_s``: times to sample the current at.
        ``fire_current_a``: a firing event is counted each time the cell current rises through this level
        (the cell switching to its conducting state, as a scope trigger on the sense resistor sees it).
        Cells not selected idle for the same duration. Advances the clock by ``waveform.duration_s``.
        """
        if not isinstance(waveform, Waveform):
            raise WaveformError("waveform must be a sim_backend.waveform.Waveform")
        idx = self.cells(selection)
        r_s = float(r_series_ohm)
        if not np.isfinite(r_s) or r_s <= 0:
            raise ModelError(f"r_series_ohm must be a finite resistance > 0 Ohm, got {r_series_ohm!r}")
        ilim = None if ilimit_a is None else float(ilimit_a)
        if ilim is not None and (not np.isfinite(ilim) or ilim <= 0):
            raise ModelError(f"ilimit_a must be a finite current > 0 A, got {ilimit_a!r}")
        cap = self.params["cell.c_cell_f"] if c_cell_f is None else float(c_cell_f)
        if not np.isfinite(cap) or cap < 0:
            raise ModelError(f"c_cell_f must be a finite capacitance >= 0 F, got {c_cell_f!r}")
        T = waveform.duration_s
        windows = np.array([[0.0, T]]) if windows_s is None else np.asarray(windows_s, float).reshape(-1, 2)
        if (~np.isfinite(windows)).any() or (windows[:, 1] <= windows[:, 0]).any() or (windows < 0).any() or (windows > T * (1 + 1e-12)).any():
            raise ModelError(f"windows_s must be (start, stop) pairs with 0 <= start < stop <= {T:g} s")
        if (windows[1:, 0] < windows[:-1, 1] - 1e-15).any():
            raise ModelError("windows_s must be sorted and must not overlap")
        samples = None if sample_times_s is None else np.asarray(sample_times_s, float).ravel()

        stepper = _Stepper(self, idx, waveform, r_s, ilim, cap, windows, samples, float(fire_current_a))
        resp = stepper.run()
        # cells that were not driven idle for the same time
        others = np.setdiff1d(np.arange(self.n), idx, assume_unique=True)
        if others.size:
            st, p = self.state, self.params
            st.t_off_s[others] += T
            t_amb = p["pcm.t_ambient_k"]
            st.temp_k[others] = t_amb + (st.temp_k[others] - t_amb) * np.exp(-T / p["pcm.tau_th_s"])
        self.t_s += T
        return resp


class _Stepper:
    """One adaptive time-stepping pass of a waveform over a selection of cells."""

    def __init__(self, model: CellArray, idx, waveform, r_s, ilim, cap, windows, samples, fire_current_a):
        self.m, self.idx, self.wf = model, idx, waveform
        self.i_fire = fire_current_a
        self._x_prev: dict[str, np.ndarray] = {}
        self.above_fire = np.zeros(idx.size, bool)
        self.r_s, self.ilim, self.cap = r_s, ilim, cap
        self.windows, self.samples = windows, samples
        p = model.params
        self.p = p
        st = model.state
        # per-selection working copies (written back at the end)
        self.vth_cyc = st.vth_cycle_v[idx].copy()
        self.vt_f = st.vt_factor[idx].copy()
        self.ts_on = st.ts_on[idx].copy()
        self.t_off = st.t_off_s[idx].copy()
        self.prog = st.delay_progress[idx].copy()
        self.u = st.u[idx].copy()
        self.temp = st.temp_k[idx].copy()
        self.pcm_on = st.pcm_on[idx].copy()
        self.t_q = st.t_quench_s[idx].copy()
        self.mpeak = st.molten_peak[idx].copy()
        self.vn = st.v_node_v[idx].copy()
        self.gc = st.g_cryst_s[idx]
        self.ga = st.g_amorph_s[idx]
        self.drift = model.drift_factor(idx)
        self.i0 = el.ts_off_i0(p["ts.vth_v"], p["ts.i_th_a"], p["ts.v0_off_v"])
        self.u_start = self.u.copy()
        self.fires = np.zeros(idx.size, np.int64)
        self.tmax = self.temp.copy()

    # circuit ----------------------------------------------------------------------------------------
    def _cell_off_current(self, v_abs, r_ext):
        """Series solve with the TS off: v = I r_ext + V0 asinh(I / I0). Returns I and V_ts."""
        v0, i0 = self.p["ts.v0_off_v"], self.i0
        r = np.maximum(r_ext, 1e-30)
        upper = np.minimum(v_abs / v0, np.arcsinh(v_abs / (i0 * r)))  # both bound the root from above
        key = "node" if np.all(r_ext <= 1e-29) else "series"
        prev = self._x_prev.get(key)
        x = upper if prev is None else np.minimum(prev, upper)
        # f(x) = V0 x + I0 R sinh(x) - V is convex and increasing: from a warm start below the root one
        # Newton step lands above it, and from above Newton converges monotonically
        for k in range(40):
            sh = np.sinh(x)
            f = v0 * x + i0 * sh * r - v_abs
            x = np.maximum(x - f / (v0 + i0 * np.sqrt(1.0 + sh * sh) * r), 0.0)
            if k >= 2 and np.max(np.abs(f)) < 1e-9:
                break
        self._x_prev[key] = x
        return i0 * np.sinh(x), v0 * x

    def _solve(self, v_src, r_s):
        """Current through each cell for source voltage(s) ``v_src`` behind ``r_s``: I, V_ts, V_pcm,
        effective source voltage and compliance flags (all signed like v_src)."""
        p = self.p
        s = np.sign(v_src)
        s = np.where(s == 0, 1.0, s)
        va = np.abs(v_src) * np.ones_like(self.u)
        g_pcm = el.pcm_conductance(self.u, self.gc, self.ga, self.drift)
        r_pcm = 1.0 / g_pcm
        r_pcm_on = 1.0 / self.gc
        vh_pcm = self.u * p["pcm.vh_full_v"]
        vhold, r_on = p["ts.vhold_v"], p["ts.r_on_ohm"]

        both = self.ts_on & self.pcm_on
        r_tot = np.where(both, r_s + r_on + r_pcm_on, r_s + r_on + r_pcm)
        vh_tot = np.where(both, vhold + vh_pcm, vhold)
        i_on = np.maximum(va - vh_tot, 0.0) / r_tot
        i_off, vts_off = self._cell_off_current(va, r_s + r_pcm)
        i = np.where(self.ts_on, i_on, i_off)
        comp = np.zeros(va.shape, bool)
        veff = va
        if self.ilim is not None:
            comp = i > self.ilim
            if (comp).any():
                il = self.ilim
                v_need_on = il * r_tot + vh_tot
                v_need_off = il * (r_s + r_pcm) + p["ts.v0_off_v"] * np.arcsinh(il / self.i0)
                veff = np.where(comp, np.where(self.ts_on, v_need_on, v_need_off), va)
                i = np.where(comp, il, i)
        v_ts = np.where(self.ts_on, vhold + i * r_on, np.where(comp, p["ts.v0_off_v"] * np.arcsinh(i / self.i0), vts_off))
        v_pcm = np.where(both, vh_pcm + i * r_pcm_on, i * r_pcm)
        return i, v_ts, v_pcm, veff, comp, s

    def _pcm_on_current(self, v_abs):
        """Cell current (A) with both the TS and the PCM's amorphous part switched on, at v_abs."""
        p = self.p
        i = np.maximum(v_abs - p["ts.vhold_v"] - self.u * p["pcm.vh_full_v"], 0.0) / (
            self.r_s + p["ts.r_on_ohm"] + 1.0 / self.gc)
        return i if self.ilim is None else np.minimum(i, self.ilim)

    def _latches(self, v_abs):
        """Whether the TS, once on, would carry at least its holding current at source voltage v_abs."""
        p = self.p
        r_pcm = 1.0 / el.pcm_conductance(self.u, self.gc, self.ga, self.drift)
        r_base = self.r_s + p["ts.r_on_ohm"]
        i_b = np.maximum(v_abs - p["ts.vhold_v"], 0.0) / (r_base + r_pcm)
        pcm_switches = i_b * r_pcm > self.u * p["pcm.vt_full_v"] * self.vt_f
        i_a = self._pcm_on_current(v_abs)
        if self.ilim is not None:
            i_b = np.minimum(i_b, self.ilim)
        i = np.where(pcm_switches & (i_a >= p["pcm.i_hold_a"]), i_a, i_b)
        return i >= p["ts.i_hold_a"]

    def _redraw_vth(self, mask):
        self.vth_cyc[mask], self.vt_f[mask] = self.m.cycle_draws(self.m.state.vth_device_v[self.idx[mask]])

    # main loop --------------------------------------------------------------------------------------
    def run(self) -> Response:
        p, wf = self.p, self.wf
        T = wf.duration_s
        tau_th = p["pcm.tau_th_s"]
        tau_rec = p["ts.tau_recovery_s"]
        t_amb, r_th = p["pcm.t_ambient_k"], p["pcm.r_th_k_per_w"]
        heat = p["pcm.heat_coupling"]
        to_pcm = p["ts.heat_to_pcm"]
        k_max, t_pk, t_w, t_g = p["pcm.k_cryst_max_per_s"], p["pcm.t_peak_k"], p["pcm.t_width_k"], p["pcm.t_glass_k"]
        t_melt, t_full = p["pcm.t_melt_k"], p["pcm.t_full_melt_k"]
        vhold, i_hold_ts, i_hold_pcm = p["ts.vhold_v"], p["ts.i_hold_a"], p["pcm.i_hold_a"]
        vt_full = p["pcm.vt_full_v"]
        t_d0, v0d = p["ts.t_d0_s"], p["ts.v0_delay_v"]
        n = self.idx.size

        # window edges within rounding of a waveform knot are that knot (k*s + s vs (k+1)*s): two
        # breakpoints an ulp apart would let a step start on the wrong side of a level change
        edges = self.windows.ravel()
        near = np.clip(np.searchsorted(wf.times_s, edges), 0, wf.times_s.size - 1)
        for cand in (near, np.maximum(near - 1, 0)):
            close = np.abs(wf.times_s[cand] - edges) <= 1e-12 * np.maximum(np.abs(edges), 1e-300)
            edges = np.where(close, wf.times_s[cand], edges)
        bps = np.unique(np.concatenate([wf.times_s, edges, [T]]))
        bps = bps[(bps > 0) & (bps <= T)]
        knot_slope = np.diff(wf.volts_v) / np.where(np.diff(wf.times_s) > 0, np.diff(wf.times_s), np.inf)

        nw = self.windows.shape[0]
        w_i = np.zeros((n, nw))
        w_v = np.zeros((n, nw))
        w_c = np.zeros((n, nw), bool)
        record = self.samples is not None
        rec_t: list[float] = []
        rec_i: list[np.ndarray] = []

        t = 0.0
        quiet_before = False
        b = 0  # next breakpoint index
        dt = DT_MIN_S
        steps = 0
        while t < T * (1 - 1e-15) and b < bps.size:
            while b < bps.size and bps[b] <= t:
                b += 1
            if b >= bps.size:
                break
            t_next_bp = bps[b]
            seg = min(np.searchsorted(wf.times_s, t, side="right") - 1, wf.times_s.size - 2)
            slope = knot_slope[seg]
            dt = min(dt, t_next_bp - t)
            if slope != 0:
                seg_len = wf.times_s[seg + 1] - wf.times_s[seg]
                dt = min(dt, max(seg_len / 8, DT_MIN_S))  # edges and ramps resolved in >= 8 steps
            t0s = wf.times_s[seg]
            v_src = float(wf.volts_v[seg]) if slope == 0 else float(wf.volts_v[seg] + slope * (t + dt / 2 - t0s))

            # --- circuit ---
            if self.cap > 0:
                i, v_ts, v_pcm, veff, comp, sgn = self._step_capacitor(v_src, dt)
            else:
                i, v_ts, v_pcm, veff, comp, sgn = self._solve(v_src, self.r_s)
            event = False

            # --- threshold switch: firing after its delay, turn-off below the holding current ---
            # (decisions use this step's solution, i.e. the states at the start of the step)
            was_on, pcm_was_on = self.ts_on.copy(), self.pcm_on.copy()
            off = ~was_on
            vth_eff = el.ts_vth_recovered(self.vth_cyc, vhold, self.t_off, tau_rec)
            over = v_ts - vth_eff
            above = off & (over > 0)
            t_d = el.ts_delay_s(np.maximum(over, 0), t_d0, v0d)
            if (above).any():
                self.prog = np.where(above, self.prog + dt / t_d, 0.0)
                fire = above & (self.prog >= 1.0)
                if self.cap == 0 and (fire).any():
                    # without a capacitance nothing can sustain a relaxation oscillation: a firing whose
                    # on-state current would fall below the holding current does not latch, and the
                    # cell stays at its stable off-branch operating point (ready to fire once it can)
                    fire &= self._latches(abs(v_src))
                    np.minimum(self.prog, 1.0, out=self.prog)
                if (fire).any():
                    self.ts_on |= fire
                    self.prog[fire] = 0.0
                    event = True
            elif (self.prog).any():
                self.prog[:] = 0.0
            # the PCM's amorphous part switches when the voltage across it exceeds its threshold
            pcm_sw = was_on & ~pcm_was_on & (v_pcm > self.u * vt_full * self.vt_f)
            if self.cap == 0 and pcm_sw.any():
                # as for the TS: a switching whose on-state current would be below the holding current
                # cannot latch without a capacitance to sustain an oscillation
                pcm_sw &= self._pcm_on_current(abs(v_src)) >= i_hold_pcm
            if (pcm_sw).any():
                self.pcm_on |= pcm_sw
                event = True
            ts_drop = was_on & (i < i_hold_ts) & ~pcm_sw  # a cascade in progress carries the current next step
            if (ts_drop).any():
                self.ts_on &= ~ts_drop
                self.pcm_on &= ~ts_drop
                self.t_off[ts_drop] = 0.0
                self._redraw_vth(ts_drop)
                event = True
            pcm_drop = pcm_was_on & self.pcm_on & (i < i_hold_pcm)
            if (pcm_drop).any():
                self.pcm_on &= ~pcm_drop
                event = True
            self.t_off = np.where(self.ts_on, 0.0, self.t_off + dt)

            conducting = i >= self.i_fire
            self.fires += conducting & ~self.above_fire
            self.above_fire = conducting

            # --- heat, crystallization, melt-quench ---
            power = heat * i * (v_pcm + to_pcm * v_ts)
            t_ss = t_amb + r_th * power
            decay = np.exp(-dt / tau_th)
            t_avg = t_ss + (self.temp - t_ss) * (tau_th / dt) * (1 - decay)
            self.temp = t_ss + (self.temp - t_ss) * decay
            np.maximum(self.tmax, self.temp, out=self.tmax)
            hot = t_avg > t_g
            k = None
            if (hot).any():
                k = el.crystallization_rate(t_avg, k_max, t_pk, t_w, t_g)
                self.u *= np.exp(-k * dt)
            molten = self.temp > t_melt
            if (molten).any() or (self.mpeak > 0).any():
                m = el.molten_fraction(self.temp, t_melt, t_full)
                self.mpeak = np.maximum(self.mpeak, m)
                quench = (self.mpeak > 0) & ~molten
                if (quench).any():
                    # the molten fraction solidifies amorphous; the rest keeps its phase mixture
                    self.u = np.where(quench, self.mpeak + (1.0 - self.mpeak) * self.u, self.u)
                    self.t_q = np.where(quench, self.m.t_s + t + dt, self.t_q)
                    self.drift = np.where(quench, 1.0, self.drift)
                    self.mpeak = np.where(quench, 0.0, self.mpeak)
                    event = True

            # --- outputs ---
            if record:
                rec_t.append(t)
                rec_i.append(i * sgn)
            wk = self._window_of(t, dt)
            if wk is not None:
                w_i[:, wk] += i * sgn * dt
                w_v[:, wk] += veff * sgn * dt
                w_c[:, wk] |= comp
            t = t_next_bp if dt >= t_next_bp - t else t + dt  # land exactly on breakpoints
            steps += 1
            if steps > MAX_STEPS:
                raise ModelError(
                    f"the model took more than {MAX_STEPS} steps for {T:g} s of waveform (stuck at t = {t:g} s, "
                    f"dt = {dt:g} s): a state it cannot resolve; please report it with the seed and stimulus")

            # --- next step size ---
            if event:
                dt = DT_MIN_S
                quiet_before = False
                continue
            limit = dt * GROWTH
            active = False  # does anything still evolve within this segment?
            if (np.abs(t_ss - self.temp) > 1.0).any():
                limit, active = min(limit, tau_th), True
            pending = above & (self.prog < 1.0)
            if pending.any():
                limit, active = min(limit, 0.1 * float(np.min(t_d[pending]))), True
            near = off & (self.t_off < 5 * tau_rec) & (v_ts > vhold)
            if near.any():
                limit, active = min(limit, 0.25 * tau_rec), True
            if k is not None:
                kmax = float(np.max(k * (self.u > 1e-3)))
                if kmax > 0:
                    limit, active = min(limit, 0.02 / kmax), True
            if self.cap > 0 and self._cap_tau is not None:
                limit, active = min(limit, 0.1 * self._cap_tau), True
            dt = max(limit, DT_MIN_S)
            if not active and quiet_before:
                dt = T  # nothing evolves: the step is cut at the next breakpoint
            quiet_before = not active

        return self._finish(w_i, w_v, w_c, rec_t, rec_i, steps)

    _cap_tau = None

    def _step_capacitor(self, v_src, dt):
        """Node voltage across the cell capacitance advanced exactly for a linearized cell."""
        vn = self.vn
        r_zero = 1e-30
        i, v_ts, v_pcm, s = self._solve_at(vn, r_zero)
        # small-signal conductance of the cell at vn
        dv = 1e-4
        i2 = self._solve_at(vn + dv * np.where(vn >= 0, 1, -1), r_zero)[0]
        g_d = np.maximum(np.abs(i2 - i) / dv, 1e-15)
        i_e = i - g_d * vn
        g_s = 1.0 / self.r_s
        tau = self.cap / (g_s + g_d)
        v_inf = (v_src * g_s - i_e) / (g_s + g_d)
        self.vn = v_inf + (vn - v_inf) * np.exp(-dt / tau)
        settled = np.abs(self.vn - v_inf) < 1e-4
        self._cap_tau = None if np.all(settled) else float(np.min(tau[~settled]))
        i, v_ts, v_pcm, s = self._solve_at(self.vn, r_zero)
        veff = np.full_like(i, v_src)
        return i, v_ts, v_pcm, veff, np.zeros(i.shape, bool), s

    def _solve_at(self, v_cell, r_ext):
        """Cell current for voltage ``v_cell`` directly across the cell (no compliance)."""
        saved = self.ilim
        self.ilim = None
        try:
            out = self._solve(v_cell, r_ext)
        finally:
            self.ilim = saved
        i, v_ts, v_pcm, veff, comp, s = out
        return i * s, v_ts, v_pcm, s

    def _window_of(self, t, dt):
        w = self.windows
        mid = t + dt / 2
        hit = np.flatnonzero((w[:, 0] <= mid) & (mid < w[:, 1]))
        return int(hit[0]) if hit.size else None

    def _finish(self, w_i, w_v, w_c, rec_t, rec_i, steps) -> Response:
        p, m, idx = self.p, self.m, self.idx
        st = m.state
        durations = self.windows[:, 1] - self.windows[:, 0]
        # programming noise: a random fraction of this call's change of the amorphous fraction
        du = self.u - self.u_start
        changed = np.abs(du) > 1e-9
        if (changed).any():
            noise = p["pcm.sigma_prog_rel"] * np.abs(du) * m.rng.standard_normal(idx.size)
            self.u = np.clip(self.u + np.where(changed, noise, 0.0), 0.0, 1.0)
        st.vth_cycle_v[idx] = self.vth_cyc
        st.vt_factor[idx] = self.vt_f
        st.ts_on[idx] = self.ts_on
        st.t_off_s[idx] = self.t_off
        st.delay_progress[idx] = self.prog
        st.u[idx] = self.u
        st.temp_k[idx] = self.temp
        st.pcm_on[idx] = self.pcm_on
        st.t_quench_s[idx] = self.t_q
        st.molten_peak[idx] = self.mpeak
        st.v_node_v[idx] = self.vn
        st.fire_count[idx] += self.fires
        sig_read = p["pcm.sigma_read_rel"]
        w_mean = w_i / durations
        if sig_read > 0:
            w_mean = w_mean * (1 + sig_read * m.rng.standard_normal(w_mean.shape))
        if self.samples is not None and rec_t:
            t_arr = np.asarray(rec_t)
            k = np.clip(np.searchsorted(t_arr, self.samples, side="right") - 1, 0, t_arr.size - 1)
            samp = np.stack(rec_i, axis=1)[:, k]
            samp_t = self.samples
        else:
            samp = np.zeros((idx.size, 0))
            samp_t = np.zeros(0)
        return Response(
            cells=idx,
            duration_s=self.wf.duration_s,
            window_current_a=w_mean,
            window_source_v=w_v / durations,
            window_compliance=w_c,
            sample_t_s=samp_t,
            sample_current_a=samp,
            fires=self.fires,
            peak_temperature_k=self.tmax,
            steps=steps,
        )
