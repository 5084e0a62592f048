"""The Verilog-A module of a TS-PCM cell (``tspcm export verilog-a``), from the same equations as the ngspice
subcircuit (tspcm_lab.export.spice): each B source becomes a contribution, each state capacitor a ddt().

The file is checked by :func:`sanity` (balanced blocks and parentheses, every identifier declared) and, where
the ``openvaf-py`` package (OpenVAF's compiler; a test extra) is installed, compiled by :func:`compile_check`.
OpenVAF is not packaged for Debian and ngspice 39 cannot load its OSDI output without it, so the ngspice
subcircuit is what the validation runs. Initial states: the simulator's ``.ic`` on the internal nodes (listed in the
header), as with the subcircuit's ``uic``.
"""

from __future__ import annotations

import re

from tspcm_lab.export import equations as eq
from tspcm_lab.export.device import ExportDevice
from tspcm_lab.export.spice import _num, body, header_lines

MODULE = "tspcm_cell"
_FUNCS = {"min", "max", "abs", "exp", "log", "ln", "sqrt", "pow", "sinh", "cosh", "tanh", "asinh", "V", "I", "ddt"}
_VA_KEYWORDS = {
    "module",
    "endmodule",
    "analog",
    "begin",
    "end",
    "function",
    "endfunction",
    "real",
    "input",
    "inout",
    "electrical",
    "parameter",
    "ground",
    "branch",
    "if",
    "else",
    "from",
    "inf",
}


def _expr(text: str) -> str:
    """A B-source expression in Verilog-A: pwr -> pow, log10 -> log (base 10 in Verilog-A)."""
    text = text.replace("pwr(", "pow(").replace("log10(", "log(")
    return text


def module(dev: ExportDevice) -> str:
    eq.check_constants()
    v = dev.value
    text_body = body()
    weak = set(dev.not_identified)
    params = [
        f"    parameter real {eq.spice_name(n)} = {_num(v(n))};  // {n}" + (" (NOT IDENTIFIED)" if n in weak else "")
        for n in eq.USED
    ]
    params += [
        f"    parameter real u0 = {_num(v('pcm.u_initial'))};  // initial amorphous thickness (set .ic below)",
        "    parameter real tamb = 300.0;  // chuck temperature (K)",
    ]
    derived, nodes, contrib, ics, funcs = [], ["m"], [], [], []
    for line in text_body.splitlines():
        line = line.strip()
        if not line or line.startswith("*"):
            continue
        if line.startswith(".param"):
            for name, val in re.findall(r"(\w+)=(\{[^}]*\}|\S+)", line[len(".param") :]):
                derived.append(f"    real {name};")
                contrib.append(f"        {name} = {_expr(val.strip('{}'))};")
            continue
        if line.startswith(".func"):
            m = re.match(r"\.func\s+(\w+)\((\w+)\)\s*\{(.*)\}\s*$", line)
            fname, arg, expr = m.groups()
            funcs += [
                f"    analog function real {fname};",
                f"        input {arg}; real {arg};",
                f"        {fname} = {_expr(expr)};",
                "    endfunction",
            ]
            continue
        parts = line.split(None, 3)
        kind = line[0].upper()
        if kind == "B":
            _, a, b, rest = parts
            what, expr = rest.split("=", 1)
            what = what.strip()
            for node in (a, b):
                if node not in ("0", "top", "bot", "m") and node not in nodes:
                    nodes.append(node)
            if what == "V":
                contrib.append(f"        V({a}) <+ {_expr(expr.strip())};")
            else:  # current from a to b
                if a == "0":
                    contrib.append(f"        I({b}) <+ -({_expr(expr.strip())});")
                else:
                    contrib.append(f"        I({a}, {b}) <+ {_expr(expr.strip())};")
        elif kind == "C":
            name, a, b, rest = parts
            val, *ic = rest.split()
            cval = _expr(val.strip("{}'"))
            if b == "0":
                contrib.append(f"        I({a}) <+ ddt(({cval}) * V({a}));")
            else:
                contrib.append(f"        I({a}, {b}) <+ ddt(({cval}) * V({a}, {b}));")
            if ic:
                ics.append(f"v(x1.{a})={ic[0].split('=', 1)[1].strip('{}')}")
        elif kind == "R":
            name, a, b, val = parts
            contrib.append(f"        I({a}) <+ V({a}) / {val};")
    head = [f"// {line}" for line in header_lines(dev, "").__iter__()]
    text = "\n".join(
        [
            *[h.replace("//  ", "// ") for h in head],
            "// The same equations as the ngspice subcircuit of `tspcm export spice` (docs/fitting.md, Export).",
            "// Initial states (as the subcircuit's capacitor ic, with .tran ... uic): " + " ".join(ics),
            "// Internal nodes carry the states: u (amorphous thickness), tk (temperature, K), ts (TS on 0/1),",
            "// pc (amorphous part switched on 0/1), g (PCM conductance at tamb, S).",
            '`include "disciplines.vams"',
            "",
            f"module {MODULE}(top, bot);",
            "    inout top, bot;",
            "    electrical top, bot;",
            "    electrical " + ", ".join(nodes) + ";",
            *params,
            *derived,
            "",
            *funcs,
            "    analog function real sgn;",
            "        input x; real x;",
            "        sgn = x > 0 ? 1 : (x < 0 ? -1 : 0);",
            "    endfunction",
            "",
            "    analog begin",
            *contrib,
            "    end",
            "endmodule",
            "",
        ]
    )
    # ground node "0" of the netlist: Verilog-A's gnd
    return re.sub(r"\b(V|I)\((\w+), 0\)", r"\1(\2)", text).replace("V(0)", "0")


def sanity(text: str) -> list[str]:
    """Problems found in a Verilog-A text (empty: none): unbalanced begin/end, module/endmodule,
    function/endfunction or parentheses, identifiers used in the analog block but never declared."""
    problems = []
    code = re.sub(r"//[^\n]*", "", text)
    code = re.sub(r'"[^"]*"', '""', code)
    for a, b in (("begin", "end"), ("module", "endmodule"), ("function", "endfunction")):
        na, nb = len(re.findall(rf"\b{a}\b", code)), len(re.findall(rf"\b{b}\b", code))
        if na != nb:
            problems.append(f"{na} '{a}' but {nb} '{b}'")
    if code.count("(") != code.count(")"):
        problems.append(f"{code.count('(')} '(' but {code.count(')')} ')'")
    declared = set(re.findall(r"parameter\s+real\s+(\w+)", code))
    declared |= {n for decl in re.findall(r"\breal\s+([\w\s,]+);", code) for n in re.split(r"[\s,]+", decl) if n}
    declared |= {n for decl in re.findall(r"\belectrical\s+([\w\s,]+);", code) for n in re.split(r"[\s,]+", decl) if n}
    declared |= set(re.findall(r"\bground\s+(\w+)", code))
    declared |= set(re.findall(r"function\s+real\s+(\w+)", code))
    analog = code[code.find("analog begin") :]
    words = set(re.findall(r"\b([A-Za-z_]\w*)\b", analog))
    undeclared = sorted(w for w in words if w not in declared and w not in _FUNCS and w not in _VA_KEYWORDS)
    if undeclared:
        problems.append("undeclared: " + ", ".join(undeclared))
    return problems


def compile_check(text: str) -> list[str] | None:
    """OpenVAF's compiler on ``text``: None when openvaf-py is not installed, else its errors (empty: none)."""
    try:
        import openvaf_py
    except ImportError:
        return None
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".va")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            openvaf_py.compile_va(path)
        except ValueError as exc:
            return [f"OpenVAF: {exc}"]
        return []
    finally:
        os.unlink(path)
