"""Device parameters of the TS-PCM model: schema, defaults file, validation.

The defaults live in ``data/device_params.toml`` with a unit, a basis (paper, literature, assumed) and a
source for every value. A user's device file lists only what it changes, as plain values
(``vth_v = 1.18``) or as tables (``vth_v = {value = 1.18, unit = "V", source = "wafer 7 die 3"}``).
Validation names the offending parameter and its allowed range: a model built from bad numbers would
silently produce physics that never happens at the bench.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tspcm_data

DEFAULTS_FILE = tspcm_data.path("device_params.toml")  # data/device_params.toml in the source tree


class ParameterError(ValueError):
    """A device parameter is unknown, out of range, or inconsistent with another one."""


@dataclass(frozen=True)
class Spec:
    unit: str
    low: float
    high: float
    low_open: bool = False  # True: value must be > low (not >=)


#: name -> unit and allowed range [low, high] (SI units). The order is the order of the model's parameter
#: vector (sim_backend.kernel reads it by position).
SCHEMA: dict[str, Spec] = {
    # threshold switch (bottom layer, volatile)
    "ts.vth_v": Spec("V", 0.0, 10.0, low_open=True),
    "ts.vth_c2c_rel": Spec("1", 0.0, 0.5),
    "ts.vth_d2d_rel": Spec("1", 0.0, 0.5),
    "ts.vhold_v": Spec("V", 0.0, 10.0, low_open=True),
    "ts.r_on_ohm": Spec("Ohm", 0.0, 1e7, low_open=True),
    "ts.i_hold_a": Spec("A", 0.0, 1e-2, low_open=True),
    "ts.i_th_a": Spec("A", 1e-15, 1e-3),
    "ts.v0_off_v": Spec("V", 1e-3, 10.0),
    "ts.t_d0_s": Spec("s", 1e-12, 1.0),
    "ts.v0_delay_v": Spec("V", 1e-3, 10.0),
    "ts.tau_recovery_s": Spec("s", 1e-12, 1.0),
    "ts.heat_to_pcm": Spec("1", 0.0, 1.0),
    "ts.c_ts_f": Spec("F", 0.0, 1e-6),
    # phase-change layer (top layer, non-volatile): a series element of amorphous thickness u (0..1)
    "pcm.r_cryst_ohm": Spec("Ohm", 0.0, 1e6, low_open=True),
    "pcm.r_amorph_ohm": Spec("Ohm", 0.0, 1e12, low_open=True),
    "pcm.r_d2d_rel": Spec("1", 0.0, 0.5),
    "pcm.ea_conduction_ev": Spec("eV", 0.0, 1.0),
    "pcm.vt0_v": Spec("V", 0.0, 10.0),
    "pcm.vt_slope_v": Spec("V", 0.0, 20.0),
    "pcm.vt_c2c_rel": Spec("1", 0.0, 0.5),
    "pcm.vt_drift_v_per_decade": Spec("V", 0.0, 0.5),
    "pcm.vh_v": Spec("V", 0.0, 10.0),
    "pcm.nu_drift": Spec("1", 0.0, 0.5),
    "pcm.t0_drift_s": Spec("s", 1e-9, 1e6),
    "pcm.ea_drift_ev": Spec("eV", 0.0, 3.0),
    "pcm.r_th_k_per_w": Spec("K/W", 0.0, 1e9),
    "pcm.tau_th_s": Spec("s", 1e-13, 1e-3),
    "pcm.t_glass_k": Spec("K", 1.0, 3000.0),
    "pcm.ea_cryst_ev": Spec("eV", 0.1, 6.0),
    "pcm.t_cryst_ref_k": Spec("K", 1.0, 3000.0),
    "pcm.tau_cryst_ref_s": Spec("s", 1e-12, 1e6),
    "pcm.k_cryst_max_per_s": Spec("1/s", 1.0, 1e13),
    "pcm.driving_width_k": Spec("K", 1.0, 2000.0),
    "pcm.jmak_n": Spec("1", 1.0, 4.0),
    "pcm.theta_head": Spec("1", 0.0, 3.0),
    "pcm.t_melt_k": Spec("K", 1.0, 3000.0),
    "pcm.t_full_melt_k": Spec("K", 1.0, 5000.0),
    "pcm.sigma_prog_rel": Spec("1", 0.0, 1.0),
    "pcm.sigma_reset_rel": Spec("1", 0.0, 0.5),
    "pcm.sigma_read_rel": Spec("1", 0.0, 0.5),
    "pcm.read_noise_white_rel": Spec("1", 0.0, 0.5),
    "pcm.u_initial": Spec("1", 0.0, 1.0),
    "pcm.heat_coupling": Spec("1", 0.0, 1.0),
    # ageing
    "pcm.endurance_cycles": Spec("1", 1.0, 1e15),
    "pcm.t_damage_k": Spec("K", 1.0, 5000.0),
    "pcm.damage_time_s": Spec("s", 1e-12, 1e6),
}


def _flatten(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``{"ts": {"vth_v": ...}}`` -> ``{"ts.vth_v": ...}``; also accepts dotted keys at top level."""
    flat: dict[str, Any] = {}
    for section, body in doc.items():
        if "." in section or not isinstance(body, Mapping):
            flat[section] = body
            continue
        for key, value in body.items():
            flat[f"{section}.{key}"] = value
    return flat


@dataclass(frozen=True)
class DeviceParams:
    """Validated parameter set: ``values`` in SI, plus the provenance of each one."""

    values: Mapping[str, float]
    provenance: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def vector(self):
        """The values in :data:`SCHEMA` order as a float64 array (the compiled kernel's parameter vector)."""
        import numpy as np

        return np.array([self.values[name] for name in SCHEMA], dtype=np.float64)

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> DeviceParams:
        """Defaults, then a user file's entries, then ``overrides`` (flat dotted names)."""
        values, provenance = _read(DEFAULTS_FILE, require_all=True)
        if path is not None:
            user_values, user_prov = _read(Path(path), require_all=False)
            values.update(user_values)
            provenance.update(user_prov)
        for name, value in (overrides or {}).items():
            values[name] = _number(name, value, "overrides")
            provenance[name] = {
                "unit": SCHEMA[name].unit,
                "basis": "override",
                "source": "set in code or on the command line",
            }
        _check_ranges(values)
        _check_consistency(values)
        return cls(values=dict(values), provenance=provenance)

    def replace(self, **overrides: float) -> DeviceParams:
        """A copy with some values changed; names use ``__`` for the dot: ``replace(ts__vth_v=1.1)``."""
        flat = {name.replace("__", "."): value for name, value in overrides.items()}
        for name in flat:
            if name not in SCHEMA:
                raise ParameterError(_unknown(name, "replace()"))
        values = {**self.values, **{k: float(v) for k, v in flat.items()}}
        _check_ranges(values)
        _check_consistency(values)
        prov = {
            **self.provenance,
            **{k: {"unit": SCHEMA[k].unit, "basis": "override", "source": "replace()"} for k in flat},
        }
        return DeviceParams(values=values, provenance=prov)

    def as_records(self) -> list[dict[str, Any]]:
        """One plain record per parameter (name, value, unit, basis, source), for run files."""
        return [
            {"name": name, "value": self.values[name], **{k: str(v) for k, v in self.provenance.get(name, {}).items()}}
            for name in SCHEMA
        ]


def _unknown(name: str, where: str) -> str:
    return f"unknown device parameter {name!r} in {where}; known parameters: {', '.join(SCHEMA)}"


def _number(name: str, value: Any, where: str) -> float:
    if name not in SCHEMA:
        raise ParameterError(_unknown(name, where))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(
            f"device parameter {name!r} in {where} must be a number in {SCHEMA[name].unit}, got {value!r}"
        )
    return float(value)


def _read(path: Path, require_all: bool) -> tuple[dict[str, float], dict[str, dict[str, str]]]:
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ParameterError(f"device parameter file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"device parameter file {path} is not valid TOML: {exc}") from None
    values: dict[str, float] = {}
    provenance: dict[str, dict[str, str]] = {}
    for name, entry in _flatten(doc, str(path)).items():
        if isinstance(entry, Mapping):
            if "value" not in entry:
                raise ParameterError(f"device parameter {name!r} in {path} is a table without 'value'")
            unit = entry.get("unit", SCHEMA.get(name, Spec("", 0, 0)).unit)
            values[name] = _number(name, entry["value"], str(path))
            if unit != SCHEMA[name].unit:
                raise ParameterError(
                    f"device parameter {name!r} in {path} has unit {unit!r}; it must be given in {SCHEMA[name].unit!r}"
                )
            provenance[name] = {
                "unit": unit,
                "basis": str(entry.get("basis", "user")),
                "source": str(entry.get("source", str(path))),
            }
        else:
            values[name] = _number(name, entry, str(path))
            provenance[name] = {"unit": SCHEMA[name].unit, "basis": "user", "source": str(path)}
    if require_all:
        missing = [name for name in SCHEMA if name not in values]
        if missing:
            raise ParameterError(f"device parameter file {path} lacks {', '.join(missing)}")
    return values, provenance


def _check_ranges(values: Mapping[str, float]) -> None:
    for name, value in values.items():
        spec = SCHEMA[name]
        if not math.isfinite(value):
            raise ParameterError(f"device parameter {name!r} must be finite, got {value}")
        too_low = value <= spec.low if spec.low_open else value < spec.low
        if too_low or value > spec.high:
            bracket = "(" if spec.low_open else "["
            raise ParameterError(
                f"device parameter {name!r} = {value:g} {spec.unit} is outside the allowed range "
                f"{bracket}{spec.low:g}, {spec.high:g}] {spec.unit}"
            )


def _check_consistency(v: Mapping[str, float]) -> None:
    """Relations between parameters that a physical device cannot violate."""
    rules = [
        (
            v["ts.vhold_v"] < v["ts.vth_v"],
            "ts.vhold_v",
            f"must be below ts.vth_v = {v['ts.vth_v']:g} V (snapback needs Vhold < Vth)",
        ),
        (
            v["pcm.vh_v"] < v["pcm.vt0_v"] + v["pcm.vt_slope_v"],
            "pcm.vh_v",
            f"must be below the full-RESET amorphous threshold pcm.vt0_v + pcm.vt_slope_v = {v['pcm.vt0_v'] + v['pcm.vt_slope_v']:g} V",
        ),
        (
            v["pcm.r_cryst_ohm"] < v["pcm.r_amorph_ohm"],
            "pcm.r_amorph_ohm",
            f"must be above pcm.r_cryst_ohm = {v['pcm.r_cryst_ohm']:g} Ohm",
        ),
        (
            v["pcm.t_glass_k"] < v["pcm.t_cryst_ref_k"],
            "pcm.t_cryst_ref_k",
            f"must be above pcm.t_glass_k = {v['pcm.t_glass_k']:g} K",
        ),
        (
            v["pcm.t_cryst_ref_k"] < v["pcm.t_melt_k"],
            "pcm.t_melt_k",
            f"must be above pcm.t_cryst_ref_k = {v['pcm.t_cryst_ref_k']:g} K",
        ),
        (
            v["pcm.t_melt_k"] < v["pcm.t_full_melt_k"],
            "pcm.t_full_melt_k",
            f"must be above pcm.t_melt_k = {v['pcm.t_melt_k']:g} K",
        ),
        (
            v["pcm.t_melt_k"] < v["pcm.t_damage_k"],
            "pcm.t_damage_k",
            f"must be above pcm.t_melt_k = {v['pcm.t_melt_k']:g} K",
        ),
    ]
    for ok, name, message in rules:
        if not ok:
            raise ParameterError(f"device parameter {name!r} = {v[name]:g} {SCHEMA[name].unit} {message}")
