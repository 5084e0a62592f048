"""``tspcm bench``: check a bench before trusting a device to it.

tspcm bench check [FILE | --sim] [--require smu,pulse,scope]
    validate the bench file, connect to each instrument, print its identity and error queue and
    one line per role saying what is missing or wrong; never enables (or changes) an output.
    Exit 0 when every required role answers as configured, 1 on any problem, 2 for a bad file.
tspcm bench list
    the built-in bench files (sim: in-process @tspcm; sim-tcp: `tspcm sim serve` over TCP)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from tspcm_lab.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    from tspcm_lab.benches import DEFAULT_REQUIRED_ROLES, add_bench_arguments

    parser = subparsers.add_parser(
        "bench", help="check a bench file and its instruments", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="bench_command", metavar="BENCHCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    check = sub.add_parser("check", help="connect, print identities and error queues; never enables an output")
    add_bench_arguments(check)
    check.add_argument(
        "--require",
        default=",".join(DEFAULT_REQUIRED_ROLES),
        metavar="ROLES",
        help=f"comma-separated roles that must be present (default {','.join(DEFAULT_REQUIRED_ROLES)}; '' for none)",
    )
    check.set_defaults(func=run_check)

    listing = sub.add_parser("list", help="list the built-in bench files")
    listing.set_defaults(func=run_list)


@dataclass
class RoleCheck:
    role: str
    status: str  # "OK", "PROBLEM" or "-"
    detail: str

    @property
    def problem(self) -> bool:
        return self.status == "PROBLEM"


def check_role(role_config) -> list[RoleCheck]:
    """Open one role, read identity and error queue, close it. Sends nothing that changes state."""
    from instruments.registry import DRIVERS
    from tspcm_lab.bench import build_role, open_driver

    info = DRIVERS[role_config.driver]
    where = f"{role_config.driver} at {role_config.resource} ({role_config.visa_library or 'default VISA'})"
    try:
        driver = open_driver(role_config)
    except Exception as exc:  # noqa: BLE001 - reported as the role's line
        return [RoleCheck(role_config.role, "PROBLEM", f"{where}: cannot connect: {_short(exc)}")]
    role = build_role(role_config, driver)
    try:
        try:
            identity = role.identity
        except Exception as exc:  # noqa: BLE001
            return [RoleCheck(role_config.role, "PROBLEM", f"{where}: no answer to *IDN?: {_short(exc)}")]
        results = []
        if info.identity_matches(identity):
            results.append(RoleCheck(role_config.role, "OK", f"{where}: {identity}"))
        else:
            results.append(
                RoleCheck(
                    role_config.role,
                    "PROBLEM",
                    f"{where}: answered {identity!r}, which is not a {info.model} "
                    f"(expected /{info.idn_pattern}/ in *IDN?)",
                )
            )
        try:
            errors = role.error_queue()
        except Exception as exc:  # noqa: BLE001
            results.append(RoleCheck(role_config.role, "PROBLEM", f"  error queue unreadable: {_short(exc)}"))
        else:
            if errors:
                listed = "; ".join(f"{code} {message}" for code, message in errors)
                results.append(RoleCheck(role_config.role, "PROBLEM", f"  error queue: {listed}"))
            else:
                results.append(RoleCheck(role_config.role, "OK", "  error queue: empty"))
        return results
    finally:
        role.close()


def check_bench(config, required: list[str]) -> list[RoleCheck]:
    """One or two lines per role: configured roles are checked, absent ones reported."""
    from instruments.registry import driver_names_for
    from instruments.roles import ROLE_NAMES

    lines: list[RoleCheck] = []
    for role in ROLE_NAMES:
        if role in config.roles:
            lines.extend(check_role(config.roles[role]))
        elif role in required:
            lines.append(
                RoleCheck(
                    role,
                    "PROBLEM",
                    f"missing: required, but the bench has no [{role}] table "
                    f"(driver one of {', '.join(driver_names_for(role))})",
                )
            )
        else:
            lines.append(RoleCheck(role, "-", "not configured"))
    return lines


def run_check(args) -> int:
    from instruments.roles import ROLE_NAMES
    from tspcm_lab.bench import BenchConfigError, bench_source_from_args, load_bench_config

    try:
        source = bench_source_from_args(args)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    if source is None:
        raise CliError("give a bench file (or a built-in name) or --sim", 2)
    required = [r.strip() for r in args.require.split(",") if r.strip()]
    unknown = [r for r in required if r not in ROLE_NAMES]
    if unknown:
        raise CliError(f"--require: unknown role(s) {', '.join(unknown)}; allowed: {', '.join(ROLE_NAMES)}", 2)
    try:
        config = load_bench_config(source)
    except BenchConfigError as exc:
        for problem in str(exc).splitlines():
            print(f"PROBLEM  {problem}")
        print("result: the bench file is not valid; nothing was connected")
        return 2
    print(f"bench: {config.name} ({config.path})")
    lines = check_bench(config, required)
    for line in lines:
        print(f"  {line.role:<7} {line.status:<8} {line.detail}")
    problems = sum(line.problem for line in lines)
    print(
        "result: OK, no output was touched" if not problems else f"result: {problems} problem(s); no output was touched"
    )
    return 1 if problems else 0


def run_list(args) -> int:
    from tspcm_lab.bench import builtin_benches, load_bench_config

    for name, path in builtin_benches().items():
        config = load_bench_config(path)
        roles = ", ".join(f"{r}={c.driver}" for r, c in config.roles.items())
        print(f"{name:<10} {config.name}: {roles}  ({path})")
    return 0


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"
