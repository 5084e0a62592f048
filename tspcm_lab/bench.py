"""Bench configuration: which instrument plays which role, how it is reached, and its safety limits.

A bench file is TOML with one table per role (``[smu]``, ``[pulse]``, ``[scope]``, ``[matrix]``,
``[prober]``; leave out the ones you don't have) and an optional ``[bench]`` table. The whole file
is validated before anything is connected; every problem is reported with the file, the key and
what is allowed. See docs/instruments.md for the annotated format.

    config = load_bench_config("sim")                 # built-in simulated bench (--sim)
    with Bench.open(config, require=("smu",)) as bench:
        bench.smu.configure_voltage_source(compliance_a=100e-6)
        ...                                            # every output off on the way out

Built-in benches live in ``data/benches/<name>.toml`` (:func:`tspcm_lab.benches.builtin_benches` lists
them), e.g. ``sim`` (in-process, ``@tspcm``) and ``sim-tcp`` (``tspcm sim serve`` on 127.0.0.1:5025..,
reached with pyvisa-py ``@py``).
"""

from __future__ import annotations

import atexit
import logging
import tomllib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from instruments.benchlike import LIMIT_KINDS
from instruments.clock import Clock, WallClock, visa_clock
from instruments.registry import DRIVERS, driver_names_for
from instruments.roles import ROLE_NAMES
from instruments.safety import Limits
from instruments.units import UnitError, parse_quantity
from tspcm_lab.benches import BUILTIN_DIR, builtin_benches  # noqa: F401 - part of this module's API

log = logging.getLogger(__name__)

_COMMON_KEYS = {"driver", "resource", "visa_library", "timeout", "read_termination", "write_termination", "channel"}
_ROLE_KEYS: dict[str, set[str]] = {
    "smu": {"max_voltage", "max_compliance_current", "series_resistance"},
    "pulse": {"max_voltage", "series_resistance"},
    "scope": {"sense_resistance"},
    "matrix": {"row_channels", "col_channels", "cell_channels", "array", "slot"},
    "prober": {"velocity_percent"},
}
_BENCH_KEYS = {"name", "description", "visa_library"}
#: largest value a bench file may give (SI units). Above these a value is a typing error, not a
#: setting: 3 kV and 50 A are the reach of the largest source-measure units of the supported families
#: (Keithley 2657A, 2651A); an hour is far beyond any single exchange with an instrument (a longer
#: timeout only keeps a hung instrument from being noticed).
QUANTITY_MAXIMA: dict[str, float] = {
    "timeout": 3600.0,
    "max_voltage": 3000.0,
    "max_compliance_current": 50.0,
    "series_resistance": 1e12,
    "sense_resistance": 1e12,
}


class BenchConfigError(ValueError):
    """A bench file that cannot be used; ``problems`` lists (key, message) pairs."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: {key}: {message}" if key else f"{path}: {message}" for key, message in problems]
        super().__init__("\n".join(lines))


class BenchOpenError(RuntimeError):
    """One or more instruments could not be opened; ``problems`` maps role -> message."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{role}: {msg}" for role, msg in problems.items()))


class ShutdownError(RuntimeError):
    """all_off() could not confirm every output off; ``problems`` lists what failed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("outputs may still be on: " + "; ".join(problems))


@dataclass(frozen=True)
class RoleConfig:
    """One role's table of a bench file, validated, in SI units."""

    role: str
    driver: str
    resource: str
    visa_library: str = ""
    timeout_s: float = 10.0
    read_termination: str = "\n"
    write_termination: str = "\n"
    channel: Any = None
    max_voltage_v: float | None = None
    max_compliance_current_a: float | None = None
    series_resistance_ohm: float | None = None
    sense_resistance_ohm: float | None = None
    row_channels: tuple[int, ...] = ()
    col_channels: tuple[int, ...] = ()
    cell_channels: tuple[tuple[int, ...], ...] = ()
    velocity_percent: float = 100.0

    @property
    def limits(self) -> Limits | None:
        if self.max_voltage_v is None:
            return None
        return Limits(max_voltage_v=self.max_voltage_v, max_current_a=self.max_compliance_current_a)

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if v is not None and v != ()}
        for key in ("row_channels", "col_channels"):
            if key in data:
                data[key] = list(data[key])
        if "cell_channels" in data:
            data["cell_channels"] = [list(row) for row in data["cell_channels"]]
        return data


@dataclass(frozen=True)
class BenchConfig:
    """A validated bench file."""

    path: str
    name: str
    roles: dict[str, RoleConfig] = field(default_factory=dict)
    description: str = ""

    def require(self, roles: Iterable[str]) -> None:
        """Raise BenchConfigError naming every role in ``roles`` the file does not configure."""
        missing = [r for r in roles if r not in self.roles]
        if missing:
            raise BenchConfigError(
                self.path,
                [
                    (
                        f"[{r}]",
                        f"missing: this needs a {r} (add a [{r}] table with driver = one of "
                        f"{', '.join(driver_names_for(r))})",
                    )
                    for r in missing
                ],
            )

    def with_visa_library(self, visa_library: str) -> BenchConfig:
        """The same bench reached through another VISA library (e.g. an isolated '@tspcm' bench)."""
        return replace(self, roles={k: replace(v, visa_library=visa_library) for k, v in self.roles.items()})

    def with_resources(self, resources: dict[str, str]) -> BenchConfig:
        """The same bench with some roles' resource strings replaced (e.g. other TCP ports)."""
        return replace(
            self, roles={k: replace(v, resource=resources.get(k, v.resource)) for k, v in self.roles.items()}
        )

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "name": self.name,
            "description": self.description,
            "roles": {k: v.as_dict() for k, v in self.roles.items()},
        }


# ---------------------------------------------------------------------------------- loading
def resolve_bench_path(source: str | Path) -> Path:
    """A built-in bench name ('sim', 'sim-tcp') or a file path -> the file's path."""
    text = str(source)
    builtins = builtin_benches()
    if text in builtins and not Path(text).exists():
        return builtins[text]
    return Path(text)


def load_bench_config(source: str | Path, *, require: Iterable[str] = ()) -> BenchConfig:
    """Read and validate a bench file (or a built-in name); raise BenchConfigError listing every
    problem. Nothing is connected."""
    path = resolve_bench_path(source)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        names = ", ".join(builtin_benches())
        raise BenchConfigError(shown, [("", f"no such bench file (built-in benches: {names})")]) from None
    except OSError as exc:
        raise BenchConfigError(shown, [("", f"cannot read: {exc}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BenchConfigError(shown, [("", f"not UTF-8 text: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchConfigError(shown, [("", f"malformed TOML: {exc}")]) from None
    config = parse_bench_config(data, shown)
    config.require(require)
    return config


def parse_bench_config(data: dict, path: str = "<bench>") -> BenchConfig:
    """Validate the parsed TOML of a bench file."""
    problems: list[tuple[str, str]] = []
    allowed_tables = ("bench",) + ROLE_NAMES
    for key in data:
        if key not in allowed_tables:
            problems.append((f"[{key}]", f"unknown table; allowed: {', '.join(allowed_tables)}"))
    bench = data.get("bench", {})
    if not isinstance(bench, dict):
        problems.append(("bench", "must be a table [bench]"))
        bench = {}
    for key in bench:
        if key not in _BENCH_KEYS:
            problems.append((f"bench.{key}", f"unknown key; allowed: {', '.join(sorted(_BENCH_KEYS))}"))
    default_library = bench.get("visa_library", "")
    if not isinstance(default_library, str):
        problems.append(("bench.visa_library", "must be a string such as '@py' or '@tspcm'"))
        default_library = ""
    roles: dict[str, RoleConfig] = {}
    for role in ROLE_NAMES:
        if role not in data:
            continue
        table = data[role]
        if not isinstance(table, dict):
            problems.append((role, f"must be a table [{role}]"))
            continue
        role_config = _parse_role(role, table, default_library, problems)
        if role_config is not None:
            roles[role] = role_config
    if not roles and not problems:
        problems.append(
            ("", f"configures no instrument; add at least one of the tables {', '.join(f'[{r}]' for r in ROLE_NAMES)}")
        )
    if problems:
        raise BenchConfigError(path, problems)
    name = bench.get("name", Path(path).stem)
    return BenchConfig(path=path, name=str(name), roles=roles, description=str(bench.get("description", "")))


def _parse_role(role: str, table: dict, default_library: str, problems: list[tuple[str, str]]) -> RoleConfig | None:
    """One role's table -> RoleConfig; every problem appended to ``problems`` (None when there was one)."""
    start = len(problems)

    def bad(key: str, message: str) -> None:
        problems.append((f"{role}.{key}", message))

    allowed = _COMMON_KEYS | _ROLE_KEYS[role]
    for key in table:
        if key not in allowed:
            bad(key, f"unknown key; allowed in [{role}]: {', '.join(sorted(allowed))}")
    driver = table.get("driver")
    info = _role_driver(role, driver, bad)
    resource = table.get("resource")
    _check_resource(resource, bad)
    values: dict[str, Any] = _role_strings(table, default_library, bad)
    _role_quantities(role, table, values, bad)
    if info is not None:
        _role_channel(info, driver, table, values, bad)
    if role == "matrix":
        _parse_matrix(table, values, bad)
    if role == "prober" and "velocity_percent" in table:
        velocity = table["velocity_percent"]
        if isinstance(velocity, bool) or not isinstance(velocity, (int, float)) or not 0.1 <= velocity <= 100:
            bad("velocity_percent", f"must be a number from 0.1 to 100, got {velocity!r}")
        else:
            values["velocity_percent"] = float(velocity)
    if len(problems) > start:
        return None
    return RoleConfig(role=role, driver=driver, resource=resource, **values)


def _role_driver(role: str, driver: Any, bad) -> Any:
    """The registry entry of the role's ``driver`` (None, with a problem, when it cannot play the role)."""
    choices = ", ".join(driver_names_for(role))
    if driver is None:
        bad("driver", f"missing; allowed for [{role}]: {choices}")
    elif not isinstance(driver, str) or driver not in DRIVERS:
        bad("driver", f"unknown driver {driver!r}; allowed for [{role}]: {choices}")
    elif DRIVERS[driver].role != role:
        bad("driver", f"{driver!r} is a {DRIVERS[driver].role} driver, not a {role}; allowed for [{role}]: {choices}")
    else:
        return DRIVERS[driver]
    return None


def _check_resource(resource: Any, bad) -> None:
    if resource is None:
        bad(
            "resource",
            "missing; the VISA resource string, e.g. 'GPIB0::18::INSTR' or 'TCPIP::192.168.0.5::5025::SOCKET'",
        )
    elif not isinstance(resource, str) or not resource.strip() or any(ch.isspace() for ch in resource):
        bad("resource", f"{resource!r} is not a VISA resource string (no spaces), e.g. 'GPIB0::18::INSTR'")


def _role_strings(table: dict, default_library: str, bad) -> dict[str, Any]:
    """The VISA library and terminations (strings), the bench's library by default."""
    values: dict[str, Any] = {}
    for key in ("visa_library", "read_termination", "write_termination"):
        if key in table:
            if isinstance(table[key], str):
                values[key] = table[key]
            else:
                bad(key, f"must be a string, got {table[key]!r}")
    values.setdefault("visa_library", default_library)
    return values


#: role -> (key, unit, positive, attribute, what to write when it is missing ("" = optional))
_ROLE_QUANTITIES: dict[str, tuple[tuple[str, str, bool, str, str], ...]] = {
    "smu": (
        ("max_voltage", "V", True, "max_voltage_v", "every output needs its safety limit, e.g. max_voltage = '5 V'"),
        ("series_resistance", "ohm", False, "series_resistance_ohm", ""),
        (
            "max_compliance_current",
            "A",
            True,
            "max_compliance_current_a",
            "the largest compliance current allowed, e.g. max_compliance_current = '10 mA'",
        ),
    ),
    "pulse": (
        ("max_voltage", "V", True, "max_voltage_v", "every output needs its safety limit, e.g. max_voltage = '5 V'"),
        ("series_resistance", "ohm", False, "series_resistance_ohm", ""),
    ),
    "scope": (
        (
            "sense_resistance",
            "ohm",
            True,
            "sense_resistance_ohm",
            "the resistor through which the scope sees the cell current, e.g. sense_resistance = '50 ohm'",
        ),
    ),
}


def _role_quantities(role: str, table: dict, values: dict[str, Any], bad) -> None:
    """The role's quantities with units (timeout, limits, resistances), each within QUANTITY_MAXIMA."""
    for key, unit, positive, attribute, required in (
        ("timeout", "s", True, "timeout_s", ""),
        *_ROLE_QUANTITIES.get(role, ()),
    ):
        if key not in table:
            if required:
                bad(key, f"missing; {required}")
            continue
        try:
            value = parse_quantity(table[key], unit)
        except UnitError as exc:
            bad(key, str(exc))
            continue
        most = QUANTITY_MAXIMA[key]
        if positive and not value > 0:
            bad(key, f"must be > 0 {unit}, got {table[key]!r}")
        elif not positive and value < 0:
            bad(key, f"must be >= 0 {unit}, got {table[key]!r}")
        elif value > most:
            bad(
                key,
                f"{table[key]!r} is beyond {most:g} {unit}, the largest this software accepts; allowed: "
                f"{'> 0' if positive else '0'} to {most:g} {unit}",
            )
        else:
            values[attribute] = value


def _role_channel(info: Any, driver: str, table: dict, values: dict[str, Any], bad) -> None:
    """The instrument channel the role uses (the driver's default when not given)."""
    if "channel" not in table:
        values["channel"] = info.default_channel
        return
    channel = table["channel"]
    if info.channels == (None,):
        bad("channel", f"{driver} has no channels; remove the key")
    elif channel not in info.channels or isinstance(channel, bool):
        bad(
            "channel", f"{channel!r} is not a channel of {driver}; allowed: {', '.join(repr(c) for c in info.channels)}"
        )
    else:
        values["channel"] = channel


def _parse_matrix(table: dict, values: dict, bad) -> None:
    """One relay per cell (``array = "RxC"`` [+ ``slot``], or ``cell_channels``), or one per array
    line (``row_channels`` + ``col_channels``)."""
    forms = [key for key in ("array", "cell_channels", "row_channels") if key in table]
    if "col_channels" in table and "row_channels" not in table:
        forms.append("col_channels")
    if len(forms) != 1:
        bad(
            "array",
            "give exactly one wiring: array = '4x4' (cell (r, c) on 7709 crosspoint row r+1, "
            "column c+1), cell_channels = [[101, 102], ...], or row_channels + col_channels",
        )
        return
    if "slot" in table and forms != ["array"]:
        bad("slot", "only used with array = 'RxC'")

    def channel_ok(c) -> bool:
        return isinstance(c, int) and not isinstance(c, bool) and c > 0

    if forms == ["array"]:
        from instruments.drivers.keithley2750 import MATRIX_COLUMNS, MATRIX_ROWS, crosspoint

        text, slot = table["array"], table.get("slot", 1)
        try:
            rows, cols = (int(part) for part in str(text).lower().split("x"))
        except ValueError:
            bad("array", f"must be 'RxC' such as '4x4', got {text!r}")
            return
        if not (1 <= rows <= MATRIX_ROWS and 1 <= cols <= MATRIX_COLUMNS):
            bad("array", f"a 7709 holds up to {MATRIX_ROWS}x{MATRIX_COLUMNS} cells, got {text!r}")
            return
        if not (isinstance(slot, int) and not isinstance(slot, bool) and 1 <= slot <= 5):
            bad("slot", f"must be the 2750 slot 1 to 5 holding the 7709, got {slot!r}")
            return
        values["cell_channels"] = tuple(tuple(crosspoint(slot, r + 1, c + 1) for c in range(cols)) for r in range(rows))
    elif forms == ["cell_channels"]:
        table_ = table["cell_channels"]
        if (
            not isinstance(table_, list)
            or not table_
            or not all(isinstance(r, list) and r for r in table_)
            or len({len(r) for r in table_}) != 1
            or not all(channel_ok(c) for r in table_ for c in r)
        ):
            bad(
                "cell_channels",
                "must be a rectangular table of positive channel numbers, one per cell, "
                f"e.g. [[101, 102], [109, 110]]; got {table_!r}",
            )
        elif len({c for r in table_ for c in r}) != sum(len(r) for r in table_):
            bad("cell_channels", "channel numbers must be unique")
        else:
            values["cell_channels"] = tuple(tuple(r) for r in table_)
    else:
        seen: set[int] = set()
        for key in ("row_channels", "col_channels"):
            channels = table.get(key)
            if channels is None:
                bad(
                    key,
                    "missing; a list of matrix channel numbers, one per array "
                    f"{'row' if key == 'row_channels' else 'column'}, e.g. [101, 102]",
                )
            elif not isinstance(channels, list) or not channels or not all(channel_ok(c) for c in channels):
                bad(key, f"must be a non-empty list of positive channel numbers, got {channels!r}")
            elif seen & set(channels) or len(set(channels)) != len(channels):
                bad(key, f"channel numbers must be unique across rows and columns, got {channels!r}")
            else:
                seen |= set(channels)
                values[key] = tuple(channels)


# ---------------------------------------------------------------------------------- opening
def open_driver(config: RoleConfig) -> Any:
    """Connect the PyMeasure driver of one role (sends only what the driver sends at start-up)."""
    info = DRIVERS[config.driver]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # upstream deprecation notices
        driver = info.driver_class(
            config.resource,
            visa_library=config.visa_library,
            read_termination=config.read_termination,
            write_termination=config.write_termination,
        )
    connection = getattr(driver.adapter, "connection", None)
    if connection is not None:
        connection.timeout = config.timeout_s * 1000
    return driver


def build_role(config: RoleConfig, driver: Any, *, outputs_on=None) -> Any:
    """The role object for ``config`` on an open ``driver`` (sends nothing)."""
    info = DRIVERS[config.driver]
    common = dict(resource=config.resource, driver_name=config.driver)
    if config.role == "smu":
        extra = {"channel": config.channel} if config.channel is not None else {}
        return info.role_class(driver, limits=config.limits, **extra, **common)
    if config.role == "pulse":
        return info.role_class(driver, limits=config.limits, channel=config.channel, **common)
    if config.role == "scope":
        return info.role_class(
            driver, sense_resistance_ohm=config.sense_resistance_ohm, channel=config.channel, **common
        )
    if config.role == "matrix":
        return info.role_class(
            driver,
            row_channels=config.row_channels,
            col_channels=config.col_channels,
            cell_channels=config.cell_channels,
            outputs_on=outputs_on,
            **common,
        )
    if config.role == "prober":
        return info.role_class(driver, velocity_percent=config.velocity_percent, **common)
    raise ValueError(f"unknown role {config.role!r}")


#: shutdown order: sources first, the prober lifts, the matrix opens last (no hot switching)
OFF_ORDER: tuple[str, ...] = ("smu", "pulse", "scope", "prober", "matrix")


class Bench:
    """The opened instruments of one bench, by role; ``None`` for a role the bench lacks.

    Use as a context manager: on the way out (normally, by exception, Ctrl-C) every output is
    turned off through :meth:`all_off`, then the connections close. The same happens at
    interpreter exit if the bench was never closed.
    """

    def __init__(self, config: BenchConfig, roles: dict[str, Any]):
        self.config = config
        self.roles = dict(roles)
        self.smu = roles.get("smu")
        self.pulse = roles.get("pulse")
        self.scope = roles.get("scope")
        self.matrix = roles.get("matrix")
        self.prober = roles.get("prober")
        #: the cell's clock when it is not the wall clock and the roles' VISA library cannot say so: a
        #: simulated bench served from another process (``tspcm_lab.served``) sets its virtual clock here
        self._clock: Clock | None = None
        self.closed = False
        atexit.register(self._at_exit)

    @classmethod
    def open(
        cls,
        source: BenchConfig | str | Path,
        *,
        require: Iterable[str] = (),
        verify_identity: bool = True,
        safe_start: bool = True,
    ) -> Bench:
        """Validate the bench file, then open every configured role and read its identity.

        If any instrument fails to open, or (``verify_identity``) answers ``*IDN?`` as another model
        than its driver is for, the ones already open are closed again, nothing else is sent, and
        BenchOpenError says which failed and why. Then (``safe_start``) every role is brought to its
        safe state with :meth:`all_off`, so the roles' idea of "output off" is true from the start.
        """
        config = source if isinstance(source, BenchConfig) else load_bench_config(source)
        config.require(require)
        roles: dict[str, Any] = {}
        problems: dict[str, str] = {}
        bench_ref: list[Bench] = []

        def outputs_on() -> list[str]:
            return bench_ref[0].outputs_on() if bench_ref else []

        for role, role_config in config.roles.items():
            try:
                driver = open_driver(role_config)
                roles[role] = build_role(role_config, driver, outputs_on=outputs_on)
                identity = roles[role].identity  # a first exchange proves the instrument answers
            except Exception as exc:  # noqa: BLE001 - reported per instrument
                problems[role] = f"{role_config.driver} at {role_config.resource}: {type(exc).__name__}: {exc}"
                continue
            info = DRIVERS[role_config.driver]
            if verify_identity and not info.identity_matches(identity):
                # commands written for one model must not reach another (swapped GPIB addresses)
                problems[role] = (
                    f"{role_config.resource} answered {identity!r}, which is not a {info.model} "
                    f"(bench file says driver = {role_config.driver!r})"
                )
        if problems:
            for role_object in roles.values():
                role_object.close()
            raise BenchOpenError(problems)
        bench = cls(config, roles)
        bench_ref.append(bench)
        if safe_start:
            # the roles assume outputs off; make it true (a crashed session may have left one on)
            off_problems = bench.all_off()
            if off_problems:
                bench.close()
                raise BenchOpenError({"all_off": "; ".join(off_problems)})
        return bench

    # ------------------------------------------------------------------ what procedures read (BenchLike)
    @property
    def path(self) -> str:
        """The bench file this bench was opened from (for messages)."""
        return self.config.path

    @property
    def clock(self) -> Clock:
        """The clock set for this bench (a simulated bench in another process), else the clock of the VISA
        library behind the roles when it offers one (the in-process simulated bench's virtual time), else
        the wall clock."""
        if self._clock is not None:
            return self._clock
        for role in self.roles.values():
            clock = visa_clock(getattr(role, "driver", None))
            if clock is not None:
                return clock
        return WallClock()

    @clock.setter
    def clock(self, clock: Clock | None) -> None:
        self._clock = clock

    def limit(self, role: str, kind: str) -> tuple[float | None, str]:
        """(limit, where) of one role from the bench *file* (no instrument is queried): ``kind``
        "voltage" -> max_voltage (V), "current" -> max_compliance_current (A); None when not set."""
        config = self.config.roles.get(role)
        if kind not in LIMIT_KINDS:
            raise ValueError(f"kind must be one of {LIMIT_KINDS}, got {kind!r}")
        if config is None:
            return None, f"{self.config.path}: no [{role}]"
        if kind == "voltage":
            return config.max_voltage_v, f"[{role}] max_voltage in {self.config.path}"
        return config.max_compliance_current_a, f"[{role}] max_compliance_current in {self.config.path}"

    def series_resistance_ohm(self, role: str = "smu") -> float:
        """Series resistance between ``role``'s output and the cell (Ohm): the bench file's
        ``series_resistance`` of that role, which states the whole path (series resistor, output
        impedance and the scope's sense resistor: 1050 Ohm SMU, 100 Ohm AWG on the simulated bench)."""
        config = self.config.roles.get(role)
        return float(config.series_resistance_ohm or 0.0) if config is not None else 0.0

    def sense_resistance_ohm(self) -> float:
        """The scope's sense resistor at the bottom electrode (Ohm), 0 when the bench has no scope."""
        scope = self.config.roles.get("scope")
        return float(scope.sense_resistance_ohm or 0.0) if scope is not None else 0.0

    def outputs_on(self) -> list[str]:
        """Roles whose output is (or may be) on."""
        return [name for name, role in self.roles.items() if getattr(role, "output_is_on", False)]

    def all_off(self) -> list[str]:
        """THE shutdown path: every role's ``off()``, sources first, each attempted even if
        another failed (a lost connection to one instrument does not spare the others). A role whose
        ``off()`` failed is reconnected once (a new connection, its identity checked) and ``off()`` is
        tried again, so a dropped connection does not leave an output on unconfirmed.
        Returns the problems met; never raises."""
        problems: list[str] = []
        for name in OFF_ORDER:
            role = self.roles.get(name)
            if role is None:
                continue
            failed = self._off(name, role)
            if failed:
                failed = self._off_after_reconnect(name, failed)
            problems.extend(failed)
        for problem in problems:
            log.error("shutdown: %s", problem)
        return problems

    @staticmethod
    def _off(name: str, role: Any) -> list[str]:
        try:
            return list(role.off())
        except Exception as exc:  # noqa: BLE001 - off() should not raise; be sure anyway
            return [f"{name}: off() raised {type(exc).__name__}: {exc}"]

    def _off_after_reconnect(self, name: str, failed: list[str]) -> list[str]:
        """Open role ``name`` anew and run its ``off()`` once more; the problems that remain."""
        config = self.config.roles[name]
        try:
            driver = open_driver(config)
            role = build_role(config, driver, outputs_on=self.outputs_on)
            identity = role.identity
        except Exception as exc:  # noqa: BLE001 - still unreachable: the first problems stand
            return failed + [f"{name}: reconnecting to {config.resource} failed: {type(exc).__name__}: {exc}"]
        if not DRIVERS[config.driver].identity_matches(identity):
            role.close()
            return failed + [
                f"{name}: after reconnecting, {config.resource} answered {identity!r}; not sending it anything"
            ]
        self.roles[name].close()
        self._set_role(name, role)
        again = self._off(name, role)
        if not again:
            log.warning(
                "shutdown: %s: the connection had failed (%s); reconnected and confirmed the output off",
                name,
                failed[0],
            )
        return again

    def _set_role(self, name: str, role: Any) -> None:
        self.roles[name] = role
        setattr(self, name, role)

    def poll_errors(self) -> list[tuple[str, int, str]]:
        """Read and empty every instrument's error queue: [(role, code, message)]. A role that cannot be
        asked (a lost connection) is left out: its next command fails on its own."""
        found: list[tuple[str, int, str]] = []
        for name, role in self.roles.items():
            try:
                found.extend((name, code, message) for code, message in role.error_queue())
            except Exception as exc:  # noqa: BLE001
                log.debug("%s: error queue not read: %s", name, exc)
        return found

    def snapshot(self) -> dict:
        """The bench as plain data for the run file: the config and every role's snapshot."""
        return {
            "bench": self.config.name,
            "config": self.config.as_dict(),
            "roles": {name: role.snapshot() for name, role in self.roles.items()},
        }

    def close(self) -> None:
        """Close every connection (does not send anything; call all_off() first)."""
        if self.closed:
            return
        for role in self.roles.values():
            role.close()
        self.closed = True
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        if not self.closed:
            self.all_off()
            self.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        problems = self.all_off()
        self.close()
        if problems:
            if exc is not None:
                exc.add_note("while shutting down, outputs may have stayed on: " + "; ".join(problems))
            else:
                raise ShutdownError(problems)


# ---------------------------------------------------------------------------------- CLI helpers
def bench_source_from_args(args) -> str | None:
    """The bench named on the command line ('sim' for --sim), or None when none was given."""
    if getattr(args, "sim", False):
        if getattr(args, "bench", None):
            raise ValueError("give either a bench file or --sim, not both")
        return "sim"
    return getattr(args, "bench", None)
