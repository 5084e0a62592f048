"""Run the exported subcircuit in ngspice (batch mode) on the bench circuit the Python model uses.

The bench: a voltage source playing a piecewise-linear waveform behind the path resistance, with an
optional current compliance (``sim_backend.kernel._source_line``: the source current clipped at the limit),
the top electrode's capacitance to ground (probe, pad; at least 1 fF as in sim_backend.model), and the cell
from the top electrode to ground. ngspice writes the requested vectors with ``wrdata``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

C_MIN_F = 1e-15  # sim_backend.model.C_MIN_F: the top electrode always has some capacitance


class NgspiceError(RuntimeError):
    """ngspice is missing or failed; the message carries its own."""


def ngspice_path() -> str | None:
    return shutil.which("ngspice")


def ngspice_version() -> str:
    exe = ngspice_path()
    if exe is None:
        return ""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    line = next((line.strip("* ").strip() for line in out.splitlines() if "ngspice-" in line), out.strip())
    return line.split(" : ")[0]


@dataclass
class Transient:
    t_s: np.ndarray
    source_current_a: np.ndarray  #: current out of the source into the top electrode (A)
    cell_v: np.ndarray  #: voltage across the cell (top electrode to ground, V)
    states: dict  #: name -> array: u, tk, ts, pc, g (see tspcm_lab.export.spice)
    attempt: str = ""  #: the step limit and method that ran (ATTEMPTS)


def bench_netlist(
    subckt: str,
    times_s,
    volts_v,
    *,
    r_series_ohm: float,
    ilimit_a: float | None,
    c_node_f: float,
    max_step_s: float,
    u0: float | None = None,
    outfile: str = "out.txt",
    method: str = "gear",
    states=("u", "tk", "ts", "pc", "g"),
) -> str:
    """A complete ngspice deck: the subcircuit, the bench, ``.tran ... uic`` and ``wrdata``."""
    t = np.asarray(times_s, float)
    v = np.asarray(volts_v, float)
    # PWL needs strictly increasing times: an instantaneous step becomes a 1 fs one
    t = t.copy()
    for k in range(1, t.size):
        if t[k] <= t[k - 1]:
            t[k] = t[k - 1] + 1e-15
    pwl = " ".join(f"{float(a)!r} {float(b)!r}" for a, b in zip(t, v))
    lim = 1e3 if ilimit_a is None else float(ilimit_a)
    inst = "x1 top 0 tspcm_cell" + (f" u0={u0!r}" if u0 is not None else "")
    vectors = " ".join(["v(top)", "v(src)"] + [f"v(x1.{s})" for s in states])
    return "\n".join(
        [
            "tspcm-lab: exported compact model on the bench circuit",
            subckt,
            f"Vsrc src 0 PWL({pwl})",
            f"Bsrc 0 top I = min(max((V(src)-V(top))/{float(r_series_ohm)!r}, -{lim!r}), {lim!r})",
            f"Cnode top 0 {max(float(c_node_f), C_MIN_F)!r}",
            inst,
            f".options method={method} maxord=2 itl4=200",
            f".tran {max_step_s / 10!r} {float(t[-1])!r} 0 {max_step_s!r} uic",
            ".control",
            "set wr_singlescale",
            "set wr_vecnames",
            "option numdgt=12",
            "run",
            f"wrdata {outfile} {vectors}",
            "quit 0",
            ".endc",
            ".end",
            "",
        ]
    )


#: (max step factor, integration method) tried in turn when ngspice stops with "timestep too small": the
#: latches and the melt make the step control fragile at some events, and a different step history passes
ATTEMPTS = ((1.0, "gear"), (0.25, "gear"), (0.05, "gear"), (1.0, "trap"), (0.25, "trap"))


def run_bench(
    subckt: str,
    times_s,
    volts_v,
    *,
    r_series_ohm: float,
    ilimit_a: float | None = None,
    c_node_f: float = 0.0,
    max_step_s: float = 1e-9,
    u0: float | None = None,
    timeout_s: float = 600.0,
) -> Transient:
    """Run the deck in a temporary folder (retrying with the ATTEMPTS); NgspiceError with ngspice's message
    if every attempt fails."""
    exe = ngspice_path()
    if exe is None:
        raise NgspiceError("ngspice is not installed (Debian: apt-get install ngspice)")
    errors = []
    for factor, method in ATTEMPTS:
        try:
            tr = _run_once(
                exe,
                subckt,
                times_s,
                volts_v,
                r_series_ohm=r_series_ohm,
                ilimit_a=ilimit_a,
                c_node_f=c_node_f,
                max_step_s=max_step_s * factor,
                u0=u0,
                method=method,
                timeout_s=timeout_s,
            )
        except NgspiceError as exc:
            errors.append(f"[max step {max_step_s * factor:g} s, {method}] {exc}")
            continue
        tr.attempt = f"max step {max_step_s * factor:g} s, method {method}"
        return tr
    raise NgspiceError(" / ".join(errors))


def _run_once(
    exe, subckt, times_s, volts_v, *, r_series_ohm, ilimit_a, c_node_f, max_step_s, u0, method, timeout_s
) -> Transient:
    with tempfile.TemporaryDirectory(prefix="tspcm-ngspice-") as tmp:
        deck = Path(tmp) / "bench.cir"
        deck.write_text(
            bench_netlist(
                subckt,
                times_s,
                volts_v,
                r_series_ohm=r_series_ohm,
                ilimit_a=ilimit_a,
                c_node_f=c_node_f,
                max_step_s=max_step_s,
                u0=u0,
                method=method,
            )
        )
        proc = subprocess.run([exe, "-b", deck.name], cwd=tmp, capture_output=True, text=True, timeout=timeout_s)
        out = Path(tmp) / "out.txt"
        log = (proc.stdout + proc.stderr).replace("\r", "\n")
        trouble = [
            line.strip() for line in log.splitlines() if "rror" in line or "too small" in line or "aborted" in line
        ]
        if proc.returncode != 0 or not out.exists() or trouble:
            raise NgspiceError(f"ngspice failed (exit {proc.returncode}): {' | '.join(trouble)[-400:] or log[-400:]}")
        lines = out.read_text().splitlines()
    names = lines[0].split()
    data = np.loadtxt(lines[1:])
    cols = {n: data[:, k] for k, n in enumerate(names)}
    t = cols[names[0]]
    if t[-1] < float(np.asarray(times_s, float)[-1]) * (1 - 1e-9):
        raise NgspiceError(f"ngspice stopped at t = {t[-1]:g} s of {float(np.asarray(times_s)[-1]):g} s")
    v_top, v_src = cols["v(top)"], cols["v(src)"]
    lim = np.inf if ilimit_a is None else float(ilimit_a)
    i_src = np.clip((v_src - v_top) / float(r_series_ohm), -lim, lim)
    states = {n[len("v(x1.") : -1]: cols[n] for n in names if n.startswith("v(x1.")}
    return Transient(t_s=t, source_current_a=i_src, cell_v=v_top, states=states)
