"""``tspcm procedures [NAME]``: the installed procedures with their parameters, units, defaults and ranges.

Procedures come from the entry-point group ``tspcm_lab.procedures`` (ours and any lab's package); a
procedure that cannot be loaded is listed with the reason instead of breaking the list.
"""

from __future__ import annotations

import json

HELP = "list the procedures (ours and plugins) with their parameters, units, defaults and ranges"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "procedures",
        help=HELP,
        description="List the installed procedures (ours and those of any package registering in the entry-point group tspcm_lab.procedures) with their parameters, units, defaults and allowed ranges.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="show one procedure in full")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _default_text(info) -> str:
    value = info.default
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {info.units}".strip() if info.kind not in ("ListParameter",) else text


def describe(name: str, entry, *, full: bool) -> tuple[list[str], dict]:
    """(text lines, plain data) for one registered procedure."""
    from tspcm_lab import plugins

    data: dict = {"name": name, "class": entry.value, "distribution": entry.distribution}
    try:
        cls = entry.load()
        infos = plugins.parameter_infos(cls)
    except Exception as exc:  # a broken plugin is shown, not fatal
        data["error"] = str(exc)
        return [f"{name}  (cannot load: {exc})"], data
    summary = plugins.summary_line(cls)
    roles = tuple(getattr(cls, "REQUIRED_ROLES", ()) or ())
    data.update(
        summary=summary,
        required_roles=list(roles),
        key_parameters=list(getattr(cls, "KEY_PARAMETERS", ()) or ()),
        read_method=getattr(cls, "READ_METHOD", None),
        columns=list(getattr(cls, "DATA_COLUMNS", []) or []),
        parameters=[
            {
                "key": i.key,
                "label": i.label,
                "type": i.kind,
                "units": i.units,
                "default": i.default,
                "minimum": i.minimum,
                "maximum": i.maximum,
                "choices": i.choices or None,
                "allowed": i.allowed,
            }
            for i in infos
        ],
    )
    origin = entry.value + (f", {entry.distribution}" if entry.distribution else "")
    lines = [f"{name}: {summary}" if summary else name, f"  ({origin}; roles: {', '.join(roles) or 'none'})"]
    if full:
        doc = (cls.__doc__ or "").strip().splitlines()[1:]
        lines += ["  " + line.strip() for line in doc if line.strip()]
        if data["columns"]:
            lines.append("  columns: " + ", ".join(data["columns"]))
        if data["read_method"]:
            lines.append(f"  read method: {data['read_method']}")
    width = max((len(i.key) for i in infos), default=0)
    label_width = max((len(i.label) for i in infos), default=0)
    default_width = max((len(_default_text(i)) for i in infos), default=0)
    for i in infos:
        lines.append(
            f"    {i.key:<{width}}  {i.label:<{label_width}}  default {_default_text(i):<{default_width}}"
            f"  allowed {i.allowed}"
        )
    return lines, data


def run(args) -> int:
    from tspcm_lab import plugins
    from tspcm_lab.cli import CliError

    if args.name:
        try:
            entries = {args.name: plugins.find(args.name)}
        except plugins.ProcedureLookupError as exc:
            raise CliError(str(exc), 2) from None
    else:
        entries = {}
        for name, registered in plugins.registered().items():
            entries[name] = registered[0]
            if len({e.value for e in registered}) > 1:
                entries[name] = None  # shown as a conflict below
    if not entries:
        print("no procedures installed (entry-point group tspcm_lab.procedures); pip install -e . installs ours")
        return 1
    out, failed = [], False
    for name, entry in entries.items():
        if entry is None:
            try:
                plugins.find(name)
            except plugins.ProcedureLookupError as exc:
                out.append(([f"{name}  ({exc})"], {"name": name, "error": str(exc)}))
                failed = True
            continue
        lines, data = describe(name, entry, full=bool(args.name))
        failed |= "error" in data
        out.append((lines, data))
    if args.json:
        print(json.dumps([data for _, data in out], indent=2, default=str))
    else:
        print("\n\n".join("\n".join(lines) for lines, _ in out))
    return 1 if failed and args.name else 0
