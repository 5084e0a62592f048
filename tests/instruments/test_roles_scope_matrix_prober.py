"""Scope, SwitchMatrix and Prober roles: dialogues, current from the sense resistance, refusals."""

import numpy as np
import pytest
from pymeasure.instruments.formfactor.velox import Velox
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2750 import Keithley2750Matrix
from instruments.drivers.keysight_dsox1102g import KeysightDSOX1102GTrig
from instruments.matrix import Keithley2750MatrixRole
from instruments.prober import VeloxProber
from instruments.safety import SafetyError
from instruments.scope import DSOX1102GScope


def test_scope_arm_and_fetch_current():
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            (":stop", None),
            (":TIMebase:MODE MAIN", None),
            (":TIMebase:REFerence LEFT", None),
            (":TIMebase:RANGe 1e-05", None),
            (":TIMebase:POSition 0", None),  # reference 1 division (1 us) in: left edge 1 us before trigger
            (":channel1:PROBe 1.000000", None),
            (":channel1:RANGe 0.062500", None),
            (":channel1:OFFSet 0.025000", None),
            (":TRIGger:MODE EDGE", None),
            (":TRIGger:EDGE:SOURce EXT", None),
            (":TRIGger:EDGE:LEVel 1", None),
            (":TRIGger:EDGE:SLOPe POS", None),
            (":TRIGger:SWEep NORM", None),
            (":ACQuire:TYPE NORM", None),
            (":single", None),
            (":OPERegister:CONDition?", "+8"),  # armed: now the pulse generator may fire
            (":OPERegister:CONDition?", "+8"),  # fetch: still waiting for the trigger
            (":OPERegister:CONDition?", "+0"),  # done
            (":waveform:source CHAN1", None),
            (":waveform:points:mode RAW", None),
            (":waveform:points 1000", None),
            (":waveform:format WORD", None),  # binary by default: 2 bytes a point
            (":WAVeform:UNSigned 1", None),
            (":WAVeform:BYTeorder MSBF", None),
            (":waveform:preamble?", "+1,+0,+3,+1,+1.0E-08,-1.0E-06,+0,+1.0E-03,+0.0E+00,+32768"),
            (":waveform:data?", b"#800000006" + np.array([32768, 32818, 32778], ">u2").tobytes() + b"\n"),
        ],
    ) as driver:
        scope = DSOX1102GScope(driver, sense_resistance_ohm=50.0, channel=1)
        scope.arm(10e-6, 10e-9, pretrigger_s=1e-6, full_scale_current_a=1e-3)
        capture = scope.fetch()
    np.testing.assert_allclose(capture.current_a, [0, 1e-3, 2e-4])  # volts / 50 Ohm
    np.testing.assert_allclose(capture.t_s, [-1e-6, -0.99e-6, -0.98e-6])
    assert scope.snapshot()["settings"]["points"] == 1000


def test_scope_refuses_impossible_records_before_sending():
    with expected_protocol(KeysightDSOX1102GTrig, []) as driver:
        scope = DSOX1102GScope(driver, sense_resistance_ohm=50.0)
        with pytest.raises(ValueError, match="exceeds the DSOX1102G's 62500"):
            scope.arm(1e-3, 1e-9)
        with pytest.raises(RuntimeError, match="before arm"):
            scope.fetch()
        assert scope.off() == []


def test_matrix_connects_rows_and_columns_of_the_cells():
    with expected_protocol(
        Keithley2750Matrix,
        [
            (":ROUTe:OPEN:ALL", None),
            (":ROUTe:MULTiple:CLOSe (@102,114)", None),
            (":ROUTe:OPEN:ALL", None),
            (":ROUTe:MULTiple:CLOSe (@101,102,113,114)", None),
            (":ROUTe:OPEN:ALL", None),
        ],
    ) as driver:
        matrix = Keithley2750MatrixRole(driver, row_channels=[101, 102], col_channels=[113, 114])
        matrix.connect([(1, 1)])
        assert matrix.connected() == [(1, 1)]
        matrix.connect([(0, 0), (0, 1), (1, 0), (1, 1)])
        assert matrix.off() == []
        assert matrix.connected() == []


def test_matrix_refuses_sets_that_would_connect_more_cells_and_hot_switching():
    outputs = ["smu"]
    with expected_protocol(Keithley2750Matrix, []) as driver:
        matrix = Keithley2750MatrixRole(
            driver, row_channels=[101, 102], col_channels=[113, 114], outputs_on=lambda: list(outputs)
        )
        with pytest.raises(ValueError, match=r"would also connect \[\(0, 1\), \(1, 0\)\]"):
            matrix.connect([(0, 0), (1, 1)])
        with pytest.raises(ValueError, match="outside the 2x2 array"):
            matrix.connect([(2, 0)])
        with pytest.raises(SafetyError, match="outputs are on \\(smu\\)"):
            matrix.connect([(0, 0)])


def test_prober_separates_before_moving_and_off_separates():
    with expected_protocol(
        Velox,
        [
            ("MoveChuckSeparation 100.0", "0:"),
            ("StepNextDie 3 4 1", "0: 3 4 1 5"),
            ("MoveChuckContact 100.0", "0: 0 0 50"),
            ("MoveChuckSeparation 100.0", "0:"),
        ],
    ) as driver:
        prober = VeloxProber(driver)
        prober.move_to_die(3, 4, subsite=1)
        prober.contact()
        assert prober.contacted
        assert prober.off() == []
        assert not prober.contacted
    assert prober.error_queue() == []


def test_matrix_with_one_relay_per_cell_connects_any_set():
    with expected_protocol(
        Keithley2750Matrix,
        [
            (":ROUTe:OPEN:ALL", None),
            (":ROUTe:MULTiple:CLOSe (@101,110)", None),
        ],
    ) as driver:
        matrix = Keithley2750MatrixRole(driver, cell_channels=[[101, 102], [109, 110]])
        matrix.connect([(1, 1), (0, 0)])  # a diagonal: fine, each cell has its own relay
        assert matrix.connected() == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="either cell_channels or row_channels"):
        Keithley2750MatrixRole(None, cell_channels=[[101]], row_channels=[101], col_channels=[113])


#: what arm(10e-6, 10e-9) sends to set up the scope (no vertical range), and arm(20e-6, 10e-9)
SETUP_10US = [
    (":TIMebase:MODE MAIN", None),
    (":TIMebase:REFerence LEFT", None),
    (":TIMebase:RANGe 1e-05", None),
    (":TIMebase:POSition 1e-06", None),
    (":TRIGger:MODE EDGE", None),
    (":TRIGger:EDGE:SOURce EXT", None),
    (":TRIGger:EDGE:LEVel 1", None),
    (":TRIGger:EDGE:SLOPe POS", None),
    (":TRIGger:SWEep NORM", None),
    (":ACQuire:TYPE NORM", None),
]
SETUP_20US = [(c.replace("1e-05", "2e-05").replace("POSition 1e-06", "POSition 2e-06"), r) for c, r in SETUP_10US]


def test_scope_rearmed_with_the_same_record_sends_only_single():
    """A train captured again with the same record: the timebase, range and trigger are as the last
    arm() left them (fetches change no setting), so :stop and :SINGle alone; another record (or off())
    sets everything again."""
    setup, longer = SETUP_10US, SETUP_20US
    armed = [(":single", None), (":OPERegister:CONDition?", "+8")]
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            (":stop", None),
            *setup,
            *armed,
            (":stop", None),
            *armed,  # the same record: nothing to set
            (":stop", None),
            *longer,
            *armed,
            (":stop", None),
            *longer,
            *armed,  # after off(): in full again
        ],
    ) as driver:
        scope = DSOX1102GScope(driver, sense_resistance_ohm=50.0, channel=1)
        scope.arm(10e-6, 10e-9)
        scope.arm(10e-6, 10e-9)
        scope.arm(20e-6, 10e-9)
        assert scope.off() == []
        scope.arm(20e-6, 10e-9)


def test_scope_fetch_of_the_same_record_reads_without_the_transfer_settings():
    """The :WAVeform transfer settings stay as the last fetch left them while the record is the same (only
    :SINGle and status queries since): the next fetch reads the preamble and the data alone; another
    record, or off(), sends them again before reading. A scope whose last capture was fetched is stopped
    (its Run bit was clear): the next arm needs no :stop, unless off() came between."""
    setup, longer = SETUP_10US, SETUP_20US
    armed = [(":single", None), (":OPERegister:CONDition?", "+8"), (":OPERegister:CONDition?", "+0")]

    def transfer(points):
        return [
            (":waveform:source CHAN1", None),
            (":waveform:points:mode RAW", None),
            (f":waveform:points {points}", None),
            (":waveform:format WORD", None),
            (":WAVeform:UNSigned 1", None),
            (":WAVeform:BYTeorder MSBF", None),
        ]

    read = [
        (":waveform:preamble?", "+1,+0,+2,+1,+1.0E-08,+0.0E+00,+0,+1.0E-03,+0.0E+00,+32768"),
        (":waveform:data?", b"#800000004" + np.array([32768, 32818], ">u2").tobytes() + b"\n"),
    ]
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            *[(":stop", None), *setup, *armed, *transfer(1000), *read],
            *[*armed, *read],  # the same record: the preamble and the data alone
            *[*longer, *armed, *transfer(2000), *read],  # another record
            *[(":stop", None), *longer, *armed, *transfer(2000), *read],  # after off()
        ],
    ) as driver:
        scope = DSOX1102GScope(driver, sense_resistance_ohm=50.0, channel=1)
        for record_s in (10e-6, 10e-6, 20e-6, 20e-6):
            if record_s == 20e-6 and scope.settings.get("record_length_s") == 20e-6:
                assert scope.off() == []
            scope.arm(record_s, 10e-9)
            capture = scope.fetch()
            np.testing.assert_allclose(capture.current_a, [0, 1e-3])
