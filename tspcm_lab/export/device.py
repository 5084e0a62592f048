"""Read a device file for export: the model's own format (sim_backend.params), checked, with where each
value came from (the file, or data/device_params.toml's default for what the file does not list)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sim_backend.params import SCHEMA, DeviceParams, ParameterError

SECTIONS = ("ts", "pcm")


class ExportError(ValueError):
    """The device file cannot be exported; the message names what is missing or wrong (one line)."""


@dataclass(frozen=True)
class ExportDevice:
    path: Path
    params: DeviceParams
    from_file: tuple[str, ...]  #: parameters the file sets
    defaults: tuple[str, ...]  #: parameters it does not list (data/device_params.toml's values)

    def value(self, name: str) -> float:
        return float(self.params[name])

    @property
    def not_identified(self) -> tuple[str, ...]:
        """Parameters the file gives with basis "not identified" (``tspcm fit``: a value that reproduces the runs,
        which do not measure it; no interval)."""
        return tuple(n for n in self.from_file if self.params.provenance.get(n, {}).get("basis") == "not identified")


def load_device(path: str | Path) -> ExportDevice:
    """The device file at ``path``, validated as the simulated bench validates it; ExportError else.

    A device file lists the parameters it changes (as ``tspcm fit`` writes it) or all of them (as
    data/device_params.toml); what it does not list keeps the default. It must be TOML with ``[ts]`` and/or
    ``[pcm]`` tables of known parameters, each a number or a table with a ``value``."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"device file {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not a device file: not text (a TOML file with [ts] and [pcm] tables)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExportError(f"{path} is not a device file: not valid TOML ({exc})") from None
    other = [k for k in doc if k not in SECTIONS and "." not in k]
    if other:
        raise ExportError(
            f"{path} is not a device file: unknown table(s) {', '.join(sorted(other))}; a device "
            f"file has [ts] and [pcm] tables of device parameters (data/device_params.toml)"
        )
    listed = []
    for section in SECTIONS:
        body = doc.get(section, {})
        if not isinstance(body, dict):
            raise ExportError(f"{path}: '{section}' must be a table of device parameters")
        for key, entry in body.items():
            name = f"{section}.{key}"
            if name not in SCHEMA:
                known = ", ".join(n.split(".", 1)[1] for n in SCHEMA if n.startswith(section + "."))
                raise ExportError(f"{path}: unknown parameter {name!r} (known in [{section}]: {known})")
            if isinstance(entry, dict) and "value" not in entry:
                raise ExportError(f"{path}: parameter {name!r} is missing its value (a table needs value = ...)")
            listed.append(name)
    listed += [k for k in doc if "." in k]
    if not listed:
        raise ExportError(
            f"{path} lists no device parameter: a device file has [ts] and/or [pcm] tables (data/device_params.toml)"
        )
    try:
        params = DeviceParams.load(path)
    except ParameterError as exc:
        raise ExportError(str(exc)) from None
    listed_set = set(listed)
    return ExportDevice(
        path=path,
        params=params,
        from_file=tuple(n for n in SCHEMA if n in listed_set),
        defaults=tuple(n for n in SCHEMA if n not in listed_set),
    )
