"""Worked example of docs/fitting.md, "Export": export data/device_params.toml, run the subcircuit in ngspice
on the validation waveforms and the Python model on the same ones, write the figure docs/model/export_ngspice.png
and the text between the export markers of docs/fitting.md. Re-run it after changing the model or the export:

    .venv/bin/python docs/scripts/export_example.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tspcm_lab.export import validate  # noqa: E402
from tspcm_lab.export.device import load_device  # noqa: E402

DOC = ROOT / "docs" / "fitting.md"
FIG = ROOT / "docs" / "model" / "export_ngspice.png"


def _pulses_to(g, level):
    """Pulse number (1-based, interpolated in log G) at which the curve g first reaches ``level``."""
    lg, n = np.log10(g), np.arange(1, g.size + 1)
    k = int(np.argmax(g >= level))
    if g[k] < level:
        return np.nan
    if k == 0:
        return 1.0
    return float(n[k - 1] + (np.log10(level) - lg[k - 1]) / (lg[k] - lg[k - 1]))


def figure(cmp, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 5, figsize=(21, 3.9))
    for name, style in (("python", "-"), ("ngspice", "--")):
        v, i = cmp.iv[name]
        ax[0].semilogy(v, np.maximum(np.abs(i), 1e-12), style, label=name)
    ax[0].set_xlabel("cell voltage (V)"), ax[0].set_ylabel("|current| (A)")
    ax[0].set_title(f"I-V, 10 kOhm load: Vth {cmp.vth['python']:.3f} / {cmp.vth['ngspice']:.3f} V")
    ax[0].legend()
    for a, train in zip(ax[1:4], cmp.setup.trains):
        g = cmp.set_g[train.name]["python"]
        n = np.arange(1, g.shape[1] + 1)
        for row in g:
            a.plot(n, row * 1e6, color="C0", alpha=0.25)
        a.plot(n, g.mean(axis=0) * 1e6, "o-", color="C0", label=f"python (mean of {g.shape[0]} seeds; thin: each)")
        a.plot(n, cmp.set_g[train.name]["ngspice"] * 1e6, "s--", color="C1", label="ngspice")
        if g.max() / g.min() > 100:
            a.set_yscale("log")
        a.set_xlabel("SET pulse"), a.set_ylabel("PCM conductance (uS)")
        a.set_title(f"SET {train.amplitude_v} V, {train.width_s * 1e9:.0f} ns, every {train.period_s * 1e6:g} us")
        a.legend(fontsize=8)
    r = cmp.reset_factor
    ax[4].bar(["python", "ngspice"], [r["python"], r["ngspice"]], yerr=[r["python_sd"], 0], color=["C0", "C1"])
    ax[4].set_ylabel("G before / G after")
    ax[4].set_title(f"RESET {cmp.setup.reset_v} V, {cmp.setup.reset_width_s * 1e9:g} ns after the last train")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "device_params.cir"
        cmd = ["tspcm", "export", "spice", "data/device_params.toml", "-o", "device_params.cir"]
        res = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "tspcm"), *cmd[1:3], str(ROOT / "data/device_params.toml"), "-o", str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        said = res.stdout.strip().replace(str(out), "device_params.cir").replace(str(ROOT) + "/", "")
        head = [line for line in out.read_text().splitlines() if line.startswith(".subckt")][0]
    # the test's two trains, and the 500 ns pulses 1.5 us apart instead of 1 us (a period of 2 us): how much the
    # steep part depends on the protocol
    base = validate.Setup()
    setup = validate.Setup(
        trains=(base.trains[0], validate.Train("set_500ns_2us", 1.75, 500e-9, 2e-6, 12), base.trains[1])
    )
    cmp = validate.compare(load_device(ROOT / "data" / "device_params.toml"), setup)
    figure(cmp, FIG)
    s, e = cmp.setup, cmp.errors
    ok = cmp.passed()
    rows = [
        (
            "threshold Vth (V)",
            f"{cmp.vth['python']:.4g} (sd {cmp.vth['python_sd']:.2g})",
            f"{cmp.vth['ngspice']:.4g}",
            e["vth"],
            "5 %",
            ok["vth"],
        ),
        (
            "hold Vhold (V)",
            f"{cmp.vhold['python']:.4g} (sd {cmp.vhold['python_sd']:.2g})",
            f"{cmp.vhold['ngspice']:.4g}",
            e["vhold"],
            "5 %",
            ok["vhold"],
        ),
    ]
    for train in s.trains:
        g = cmp.set_g[train.name]
        mean = g["python"].mean(0)
        rows.append(
            (
                f"SET curve {train.amplitude_v} V / {train.width_s * 1e9:g} ns every {train.period_s * 1e6:g} us: "
                f"G after pulse {train.count} (uS)",
                f"{mean[-1] * 1e6:.4g} (sd {g['python'].std(0, ddof=1)[-1] * 1e6:.2g})",
                f"{g['ngspice'][-1] * 1e6:.4g}",
                e[f"set_curve:{train.name}"],
                "10 % (worst pulse)",
                ok[f"set_curve:{train.name}"],
            )
        )
    r = cmp.reset_factor
    rows.append(
        (
            "RESET factor G_before/G_after",
            f"{r['python']:.4g} (sd {r['python_sd']:.2g})",
            f"{r['ngspice']:.4g}",
            e["reset_factor"],
            "20 %",
            ok["reset_factor"],
        )
    )
    steep_lines = []
    for name, label in (
        ("set_500ns", "1 us apart (the pulse-train procedure's default)"),
        ("set_500ns_2us", "1.5 us apart"),
    ):
        g = cmp.set_g[name]
        mean, sd = g["python"].mean(0), g["python"].std(0, ddof=1)
        sem = sd / np.sqrt(g["python"].shape[0]) / mean
        err = g["ngspice"] / mean - 1
        n_py = np.array([_pulses_to(row, 0.5 * mean[-1]) for row in g["python"]])
        big = np.abs(err) > 0.05
        ratio = (
            f"; where the error exceeds 5 % it is {np.min(np.abs(err[big]) / sem[big]):.1f}-"
            f"{np.max(np.abs(err[big]) / sem[big]):.1f} standard errors"
            if big.any()
            else ""
        )
        steep_lines += [
            f"500 ns pulses {label}, per pulse: ngspice against the Python mean "
            + ", ".join(f"{x * 100:+.0f}" for x in err)
            + " %; standard error of that mean "
            + ", ".join(f"{x * 100:.0f}" for x in sem)
            + " %"
            + ratio
            + ".",
            f"Pulses to reach half the final conductance: Python {np.nanmean(n_py):.2f} (seeds "
            f"{np.nanmin(n_py):.2f}-{np.nanmax(n_py):.2f}), ngspice {_pulses_to(g['ngspice'], 0.5 * mean[-1]):.2f}.",
            "",
        ]
    text = [
        "<!-- export:start (generated by docs/scripts/export_example.py; do not edit by hand) -->",
        "",
        "```",
        "$ " + " ".join(cmd),
        said,
        "$ grep '^.subckt' device_params.cir",
        head,
        "```",
        "",
        f"{cmp.ngspice_version} against the Python model (noise and spreads off; mean of {len(s.seeds)} seeds, "
        f"since the Poisson delay is still random there). Waveforms: an I-V sweep 0 -> {s.iv_peak_v} -> 0 V over "
        f"{2 * s.iv_ramp_s * 1e3:g} ms through {s.iv_r_load_ohm / 1e3:g} kOhm; SET trains through the AWG path "
        f"({s.pulse_r_ohm:g} Ohm, {s.edge_s * 1e9:g} ns edges, {s.c_node_f * 1e12:g} pF probe) from the RESET state; "
        f"after the second train one RESET pulse of {s.reset_v} V, {s.reset_width_s * 1e9:g} ns.",
        "",
        "| quantity | Python | ngspice | error | target | met |",
        "|---|---|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d * 100:.1f} % | {t} | {'yes' if m else '**no**'} |" for a, b, c, d, t, m in rows],
        "",
        f"G after the RESET: Python {r['g_after_python'] * 1e6:.5g} uS, ngspice {r['g_after_ngspice'] * 1e6:.5g} uS "
        "(a full RESET: 1/(R_c + R_a)).",
        "",
        *steep_lines,
        "ngspice step limit and method that ran (tspcm_lab/export/ngspice.py ATTEMPTS): "
        + "; ".join(f"{k}: {v}" for k, v in cmp.attempts.items())
        + ".",
        "",
        "![ngspice against Python](model/export_ngspice.png)",
        "",
        "<!-- export:end -->",
    ]
    replace_block(DOC, "export", "\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
