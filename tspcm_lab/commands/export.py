"""``tspcm export spice|verilog-a DEVICE.toml [-o FILE]``: a compact model of the TS-PCM stack."""

from __future__ import annotations

HELP = "write a compact model (ngspice subcircuit or Verilog-A) of a device file"
SUFFIX = {"spice": ".cir", "verilog-a": ".va"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help=HELP,
        description="Write a compact model of the TS-PCM stack from a device file (data/device_params.toml's "
        "format, e.g. one written by tspcm fit): 'spice' an ngspice behavioural subcircuit "
        "(.subckt tspcm_cell top bot; run .tran ... uic), 'verilog-a' a Verilog-A module of the same "
        "equations. States: amorphous thickness, temperature, TS on/off and recovery. Deterministic "
        "(switching delay at its mean, no noise, no ageing). See docs/fitting.md, Export.",
    )
    p.add_argument("format", choices=tuple(SUFFIX), help="spice (ngspice subcircuit) or verilog-a")
    p.add_argument("device", metavar="DEVICE", help="device file (.toml)")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default: DEVICE with .cir or .va)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    import os
    import tempfile
    from pathlib import Path

    from tspcm_lab.cli import CliError
    from tspcm_lab.export.device import ExportError, load_device

    out = Path(args.output) if args.output else Path(args.device).with_suffix(SUFFIX[args.format])
    if out.resolve() == Path(args.device).resolve():
        raise CliError(f"the output {out} is the device file itself", 2)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; pass --force to overwrite it", 2)
    if not out.parent.is_dir():
        raise CliError(f"cannot write {out}: folder {out.parent} does not exist", 2)
    try:
        dev = load_device(args.device)
    except ExportError as exc:
        raise CliError(f"nothing written: {exc}", 2) from None
    if args.format == "spice":
        from tspcm_lab.export.spice import write

        text = write(dev)
    else:
        from tspcm_lab.export.verilog_a import compile_check, module, sanity

        text = module(dev)
        compiled = compile_check(text)
        problems = sanity(text) or compiled or []
        if problems:  # a defect of ours, not of the input: say so, write nothing
            raise CliError("nothing written: the Verilog-A text failed its check: " + "; ".join(problems), 1)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=out.suffix)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, out)
    from tspcm_lab.export.equations import USED
    from tspcm_lab.export.spice import used_defaults_of

    used = len(dev.from_file)
    checked = ""
    if args.format == "verilog-a":
        checked = "; compiled by OpenVAF" if compiled == [] else "; checked (openvaf-py not installed: not compiled)"
    print(
        f"wrote {out} ({args.format}) from {args.device}: {used} parameter(s) from the file, "
        f"{len(used_defaults_of(dev))} default(s) of data/device_params.toml{checked}"
    )
    weak = [n for n in dev.not_identified if n in USED]
    if weak:
        print(f"not identified by the fit's runs (marked in {out.name}'s header): {', '.join(weak)}")
    return 0
