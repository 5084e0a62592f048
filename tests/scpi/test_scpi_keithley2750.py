"""Keithley 2750 + 7709 model: PyMeasure's driver, our matrix extension, channel checks."""

from __future__ import annotations

import pytest
from pymeasure.instruments.keithley import Keithley2750 as PmKeithley2750

from instruments.drivers.keithley2750 import Keithley2750Matrix, crosspoint
from sim_backend.scpi.keithley2750 import RELAY_SETTLE_S, crosspoint_of

from tests.helpers.scpi import driver, queue_empty


def test_pymeasure_driver_close_open(matrix):
    m = driver(PmKeithley2750, matrix)
    m.close(101)
    m.close(148)
    assert m.closed_channels == [101, 148]
    m.open(101)
    assert matrix.handle(":ROUT:CLOS?") == "(@148)"
    m.open_all()
    assert matrix.handle(":ROUT:CLOS?") == "(@)"
    assert m.check_errors() == []


def test_matrix_extension_and_channel_numbering(matrix):
    m = driver(Keithley2750Matrix, matrix)
    row2_col3 = crosspoint(1, 2, 3)
    assert row2_col3 == 111 and crosspoint_of(111) == (1, 2, 3)
    assert crosspoint_of(130) == (1, 4, 6)  # the 7709 manual's example: channel 30, column 6
    m.close_channels([101, row2_col3])
    assert m.closed_multiple == [101, 111]
    m.open_channels([101])
    assert m.closed_multiple == [111]
    assert queue_empty(matrix)


def test_route_close_opens_others_and_ranges(matrix):
    matrix.handle(":ROUT:MULT:CLOS (@101:104)")
    assert matrix.handle(":ROUT:MULT:CLOS?") == "(@101,102,103,104)"
    matrix.handle(":ROUT:CLOS (@110)")
    assert matrix.handle(":ROUT:CLOS?") == "(@110)"
    matrix.handle(":ROUT:OPEN:ALL")
    assert matrix.handle(":ROUT:CLOS?") == "(@)"
    assert queue_empty(matrix)


@pytest.mark.parametrize("clist", ["(@151)", "(@201)", "(@100)", "(@101,999)"])
def test_nonexistent_channel_changes_nothing(matrix, clist):
    matrix.handle(":ROUT:MULT:CLOS (@105)")
    assert matrix.handle(f":ROUT:MULT:CLOS {clist}") is None
    assert matrix.handle("SYST:ERR?").startswith("-222,")
    assert matrix.handle(":ROUT:CLOS?") == "(@105)"


def test_bad_channel_list_syntax(matrix):
    matrix.handle(":ROUT:MULT:CLOS 101")
    assert matrix.handle("SYST:ERR?").startswith("-104,")
    matrix.handle(":ROUT:MULT:CLOS (@1a1)")
    assert matrix.handle("SYST:ERR?").startswith("-102,")
    assert matrix.handle("*OPT?") == "7709,NONE,NONE,NONE,NONE"


def test_relays_take_virtual_time_only_when_they_move(matrix):
    t0 = matrix.link.now_s
    matrix.handle(":ROUT:MULT:CLOS (@101)")
    matrix.handle(":ROUT:MULT:CLOS (@101)")  # already closed: nothing moves
    assert matrix.link.now_s - t0 == pytest.approx(RELAY_SETTLE_S)
