"""The SCPI engine's grammar: headers, compound messages, parameters, errors, status, sync."""

from __future__ import annotations

import pytest

from sim_backend.scpi import Keithley2450, Keithley2750, Keysight33522B, KeysightDSOX1102G
from sim_backend.scpi.engine import ScpiInstrument, scpi
from sim_backend.scpi.errors import ErrorQueue, ScpiError
from sim_backend.scpi.params import Params, parse_number, split_params, split_units


class Toy(ScpiInstrument):
    """A two-setting instrument to exercise the grammar, with one query taking a parameter."""

    model = "toy"
    idn = "TSPCM,TOY,1,1.0"

    def _rst_state(self):
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.channel = 0
        self.name = ""

    @scpi("[:SOURce#]:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]")
    def _set(self, p: Params):
        f = p.alt[0]
        self.level[f] = p.number(0, lo=-10, hi=10, default=0.0, units=("V",) if f == "VOLT" else ("A",))
        self.channel = p.sfx[0]

    @scpi("[:SOURce#]:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]", query=True, args=(0, 1))
    def _get(self, p: Params):
        if p.has(0):
            return f"{p.number(0, lo=-10, hi=10, default=0.0):g}"
        return f"{self.level[p.alt[0]]:g}"

    @scpi(":SYSTem:NAME")
    def _set_name(self, p: Params):
        self.name = p.string(0)

    @scpi(":SYSTem:NAME", query=True)
    def _get_name(self, p: Params):
        return f'"{self.name}"'

    @scpi(":SYSTem:ERRor:COUNt", query=True)
    def _err_count(self, p: Params):
        return str(len(self.errors))


@pytest.fixture
def toy():
    return Toy()


def err(inst) -> int:
    return int(inst.handle("SYST:ERR?").split(",")[0])


def test_short_long_any_case_and_optional_nodes(toy):
    for header in (
        ":SOUR:VOLT",
        ":sour:volt",
        "SOURCE:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE",
        ":SoUr:VoLt:LeV",
        "VOLT",
        ":volt:ampl",
    ):
        toy.handle(f"{header} 1.5")
        assert toy.level["VOLT"] == 1.5
        toy.handle(":VOLT 0")
    assert err(toy) == 0


def test_partial_mnemonic_is_undefined(toy):
    assert toy.handle(":SOURC:VOLT 1") is None
    assert err(toy) == -113
    assert toy.handle(":SOUR:VOLTA 1") is None
    assert err(toy) == -113
    assert toy.level["VOLT"] == 0.0


def test_numeric_suffix(toy):
    toy.handle(":SOUR2:VOLT 1")
    assert toy.channel == 2
    toy.handle(":SOURCE:VOLT 1")
    assert toy.channel == 1


def test_compound_message_uses_current_path(toy):
    toy.handle(":SOUR:VOLT 1;CURR 2")  # second unit is :SOUR:CURR
    assert toy.level == {"VOLT": 1.0, "CURR": 2.0}
    assert toy.handle(":SOUR:VOLT?;CURR?") == "1;2"
    # a leading colon resets the path; common commands leave it alone
    assert toy.handle(":SOUR:VOLT 3;*IDN?;CURR?;:SYST:NAME 'x';NAME?") == 'TSPCM,TOY,1,1.0;2;"x"'
    assert toy.level["VOLT"] == 3.0
    assert err(toy) == 0


def test_path_resets_between_messages(toy):
    toy.handle(":SYST:NAME 'a'")
    assert toy.handle("NAME?") is None  # a new message starts at the root
    assert err(toy) == -113


def test_trailing_semicolon_and_colon_common(toy):
    toy.handle(":VOLT 2;")
    toy.handle("*RST;:*CLS;")
    assert toy.level["VOLT"] == 0.0
    assert err(toy) == 0


def test_unknown_header_no_reply_and_next_query_in_sync(toy):
    assert toy.handle(":BOGUS 1") is None
    assert toy.handle(":BOGUS?") is None
    assert toy.handle("*IDN?") == "TSPCM,TOY,1,1.0"
    assert [err(toy), err(toy), err(toy)] == [-113, -113, 0]


def test_error_in_compound_skips_only_that_unit(toy):
    assert toy.handle(":VOLT 20;:CURR 1;:FOO;:VOLT?") == "0"
    assert toy.level["CURR"] == 1.0
    assert [err(toy), err(toy), err(toy)] == [-222, -113, 0]


@pytest.mark.parametrize(
    "message, code",
    [
        (":VOLT", -109),  # missing parameter
        (":VOLT 1,2", -108),  # parameter not allowed
        (":VOLT ON", -148),  # character data where a number belongs
        (":VOLT 'x'", -158),  # string data where a number belongs
        (":VOLT #15hello", -168),  # block data where a number belongs
        (":VOLT (1+2)", -178),  # expression data
        (":VOLT 1.2.3", -121),  # invalid character in number
        (":VOLT 1e99999", -123),  # exponent too large
        (":VOLT 1 2", -103),  # parameters separated by a blank, not a comma
        (":VOLT 1 VOLTSANDMOREVOLTS", -134),  # suffix too long
        (":VOLT " + "1" * 300, -124),  # too many digits
        (":VOLTAGEVOLTAGEX 1", -112),  # mnemonic longer than 12 characters
        (":SOUR:VOLT\x01 1", -101),  # invalid character
        (":VOLT 1 mX", -131),  # invalid suffix
        (":VOLT 1 A", -131),  # a current unit on a voltage
        (":VOLT 11", -222),  # out of range
        (":VOLT -1e3", -222),
        (":VOLT UP", -148),
        (":SYST:NAME 'abc", -151),  # unterminated string
        (":VOLT:", -102),  # empty mnemonic
        ("*ESE 300", -222),
        ("*FOO", -113),
    ],
)
def test_error_codes_leave_setting_unchanged(toy, message, code):
    toy.handle(":VOLT 2")
    assert toy.handle(message) is None
    assert err(toy) == code
    assert toy.level["VOLT"] == 2.0
    assert err(toy) == 0


def test_units_min_max_def(toy):
    toy.handle(":VOLT 1500mV")
    assert toy.level["VOLT"] == 1.5
    toy.handle(":CURR 2 mA")
    assert toy.level["CURR"] == pytest.approx(2e-3)
    toy.handle(":CURR 3uA")
    assert toy.level["CURR"] == pytest.approx(3e-6)
    toy.handle(":VOLT MAX")
    assert toy.level["VOLT"] == 10
    toy.handle(":VOLT minimum")
    assert toy.level["VOLT"] == -10
    toy.handle(":VOLT DEF")
    assert toy.level["VOLT"] == 0
    assert toy.handle(":VOLT? MAX") == "10"
    toy.handle(":VOLT #H5")
    assert toy.level["VOLT"] == 5
    assert err(toy) == 0


def test_parse_number_prefixes():
    assert parse_number("10us", units=("S",)) == pytest.approx(10e-6)
    assert parse_number("1MHZ", units=("HZ",)) == pytest.approx(1e6)
    assert parse_number("1 mHz", units=("HZ",)) == pytest.approx(1e6)  # SCPI: MHZ is mega
    assert parse_number("2KOHM", units=("OHM",)) == pytest.approx(2e3)
    assert parse_number("-1.5E-3") == -1.5e-3
    assert parse_number("+.5") == 0.5


def test_booleans_strings_channel_lists_blocks():
    p = Params(split_params("ON, off, 1, 0, 0.7, 'it''s', \"two\", (@101,103:105), #15hello"))
    assert [p.boolean(i) for i in range(5)] == [True, False, True, False, True]
    assert p.string(5) == "it's"
    assert p.string(6) == "two"
    assert p.channel_list(7) == [101, 103, 104, 105]
    assert p.block(8) == "hello"
    with pytest.raises(ScpiError) as e:
        Params(["MAYBE"]).boolean(0)
    assert e.value.code == -224


def test_splitting_respects_strings_parentheses_blocks():
    assert split_units(":A 'x;y';:B (@1,2);C #13a;b;D") == [":A 'x;y'", ":B (@1,2)", "C #13a;b", "D"]
    assert split_params("1, 'a,b', (@1,2), #13a,b") == ["1", "'a,b'", "(@1,2)", "#13a,b"]


def test_common_commands_and_status(toy):
    assert toy.handle("*IDN?") == "TSPCM,TOY,1,1.0"
    assert toy.handle("*OPC?") == "1"
    toy.handle("*CLS")
    assert toy.handle("*ESR?") == "0"
    toy.handle("*ESE 60;*SRE 32")
    assert toy.handle("*ESE?;*SRE?") == "60;32"
    assert toy.handle("*STB?") == "0"
    toy.handle(":NOPE")  # command error: ESR bit 5, error queue not empty
    assert int(toy.handle("*STB?")) == 4 | 32 | 64  # EAV, ESB, MSS
    assert toy.handle("*ESR?") == "32"
    assert toy.handle("*ESR?") == "0"  # read clears
    toy.handle(":VOLT 99")  # execution error: bit 4
    assert toy.handle("*ESR?") == "16"
    toy.handle("*OPC")
    assert toy.handle("*ESR?") == "1"
    assert toy.handle("*TST?") == "0"
    toy.handle("*WAI;*TRG")
    toy.handle("*CLS")
    assert toy.handle("*STB?") == "0"
    assert err(toy) == 0


def test_error_queue_overflow_keeps_oldest_and_marks_overflow():
    q = ErrorQueue(3)
    for code in (-113, -222, -224, -108):
        q.push(code, "x")
    assert [c for c, _ in q] == [-113, -222, -350]
    inst = Keysight33522B(None)
    for _ in range(25):
        inst.handle(":BAD")
    codes = []
    while True:
        code = int(inst.handle("SYST:ERR?").split(",")[0])
        if code == 0:
            break
        codes.append(code)
    assert len(codes) == 20 and codes[-1] == -350 and set(codes[:-1]) == {-113}


def test_push_error_and_reset(toy):
    toy.push_error(-222, "injected")
    toy.handle(":VOLT 4")
    assert toy.handle("SYST:ERR:COUN?") == "1"
    assert toy.handle("SYST:ERR?") == '-222,"Data out of range"'
    toy.push_error(-100)
    toy.reset()
    assert toy.level["VOLT"] == 0.0
    assert err(toy) == 0


def test_query_interrupted_and_unterminated_codes(toy):
    toy.note_query_interrupted()
    toy.note_query_unterminated()
    assert [err(toy), err(toy)] == [-410, -420]
    assert toy.handle("*ESR?") == str(4 + 128)  # QYE plus power-on


def test_bytes_and_crlf_input(toy):
    assert toy.handle(b":VOLT 1;:VOLT?\r\n") == "1"


@pytest.mark.parametrize(
    "inst, empty",
    [
        (Keithley2450(None), '0,"No error;0;0 0"'),
        (Keysight33522B(None), '+0,"No error"'),
        (KeysightDSOX1102G(None), '+0,"No error"'),
        (Keithley2750(None), '0,"No error"'),
    ],
)
def test_each_model_error_format(inst, empty):
    assert inst.handle("SYST:ERR?") == empty
    assert inst.handle(":SYST:ERR:NEXT?") == empty
    assert inst.handle(":NOT:A:COMMAND 1") is None
    reply = inst.handle("SYST:ERR?")
    assert reply.split(",")[0] in ("-113", "-113")
    assert '"Undefined header' in reply
    assert inst.handle("SYST:ERR?") == empty


def test_never_evaluates_text(toy):
    toy.handle(":VOLT __import__('os').getcwd()")
    assert err(toy) == -141
    toy.handle(":VOLT 1e3*0")
    assert err(toy) == -121
    assert toy.level["VOLT"] == 0.0


# --------------------------------------------------------------------- malformed input never raises
REAL_MODELS = (Keithley2450, Keysight33522B, KeysightDSOX1102G, Keithley2750)


@pytest.mark.parametrize(
    "message",
    [
        "DATA:ARB dac,#²12ab",  # '#' + a digit that is not ASCII: str.isdigit() says yes, int() says no
        "DATA:ARB dac,#1²",
        "DATA:ARB dac,#٣12abc",  # an Arabic-Indic three: int() would read it as 3
        ":SOUR:VOLT ٣",
        ":SOUR٢:VOLT 1",
        ":ROUT:CLOS (@1²:3)",
        "#9",
        "*ESE #H٣",
    ],
)
@pytest.mark.parametrize("model", REAL_MODELS, ids=lambda m: m.__name__)
def test_malformed_numbers_and_blocks_are_scpi_errors_and_the_session_goes_on(model, message):
    inst = model(None)
    assert inst.handle(message) is None
    code = int(inst.handle("SYST:ERR?").split(",")[0])
    assert -199 <= code <= -100 or -299 <= code <= -200, code  # a command or execution error
    assert inst.handle("*IDN?") == inst.idn


def test_random_messages_never_raise_and_every_instrument_still_answers():
    """2000 seeded random messages per instrument from SCPI pieces, blocks, quotes, non-ASCII digits
    and stray bytes: the engine turns every one into a reply or an error-queue entry."""
    import random

    rng = random.Random(10)
    atoms = [
        "#",
        "#9",
        "#1",
        "#2",
        "#0",
        "#H",
        "#Q",
        "#B",
        "²",
        "٣",
        ";",
        ",",
        ":",
        "*",
        "?",
        "'",
        '"',
        "(",
        ")",
        "@",
        " ",
        "\x00",
        "\xff",
        "1",
        "9",
        "e",
        "-",
        ".",
        "1e400",
        "nan",
        "MIN",
        "MAX",
        "ON",
        "#15hello",
        "(@101)",
        "*IDN?",
        "SYST:ERR?",
    ]
    for model in REAL_MODELS:
        inst = model(None)
        headers = [
            c.pattern.replace("[", "")
            .replace("]", "")
            .replace("{", "")
            .replace("}", "")
            .split("|")[0]
            .replace("#", "1")
            for c in inst._commands
        ]
        for _ in range(2000):
            parts = [rng.choice(headers) + rng.choice(["?", " "])] if rng.random() < 0.7 else []
            parts += [rng.choice(atoms) for _ in range(rng.randrange(1, 8))]
            inst.handle("".join(parts))  # must not raise
        inst.handle("*CLS")
        assert inst.handle("*IDN?") == inst.idn


def test_format_number_rounds_the_shortest_decimal_as_an_instrument_prints_it():
    """``%.<n>E`` rounds the shortest decimal that reads back as the value (9.9e37 prints 9.900000E+37); the
    fast path (rounding the float itself) must agree with that everywhere, ties at the last digit included."""
    import math
    import random
    from decimal import Decimal

    from sim_backend.scpi.params import format_number

    def reference(fmt: str, x: float) -> str:
        sign, digits = fmt[1:].split(".")[0], int(fmt.split(".")[1][:-1])
        if not math.isfinite(x) or x == 0:
            return fmt % x
        mantissa, exponent = format(Decimal(repr(x)), f"{sign}.{digits}E").split("E")
        return f"{mantissa}E{int(exponent):+03d}"

    rng = random.Random(12)
    values = [9.9e37, -9.9e37, 5e-324, 1e-300, 1.7976931348623157e308, 0.5, 1.2345675e-5, 100.0, -0.001]
    for _ in range(3000):
        values.append(rng.uniform(-10, 10) * 10.0 ** rng.randint(-30, 30))
        mantissa = rng.randint(10 ** rng.randint(0, 15), 10**16)
        values.append(float(f"{mantissa}5e{rng.randint(-40, 40)}"))  # a tie at some digit
    for fmt in ("%.6E", "%+.6E", "%.0E", "%.3E", "%.12E", "%.13E", "%.16E"):
        for x in values:
            assert format_number(fmt, x) == reference(fmt, x), (fmt, x)
    assert format_number("%.6E", 9.9e37) == "9.900000E+37"
    assert format_number("%.6E", 1.2345675e-5) == reference("%.6E", 1.2345675e-5)
