"""Compact-model export of the TS-PCM stack: an ngspice behavioural subcircuit and a Verilog-A module
written from a device file (``tspcm export spice|verilog-a``), and their validation against the Python
model (docs/fitting.md, "Export")."""
