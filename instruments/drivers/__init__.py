"""PyMeasure driver extensions: what our roles need and the upstream drivers lack.

Each module subclasses one PyMeasure driver and adds the missing commands as declarations
(``Instrument.control/measurement/setting``) or short methods, written after the instrument's
programming manual and tested by their SCPI dialogue (``tests/instruments/drivers``).
"""
