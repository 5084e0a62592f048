"""Message framing and fault plans on their own (the transports' shared pieces)."""

from __future__ import annotations

import pytest

from sim_backend.faults import (
    DROP,
    IGNORE,
    PASS,
    DropConnection,
    FaultPlan,
    Latency,
    PushError,
    StopAnswering,
    parse_fault,
    split_spec,
)
from sim_backend.framing import MessageFramer, MessageTooLong

from tests.helpers.probe_bench import ProbeBench


def test_framer_splits_on_newline_and_crlf_and_drops_empty_messages():
    framer = MessageFramer()
    assert framer.feed(b"*IDN?\r\nVAL 1;VAL?\n\n\r\nPART") == ["*IDN?", "VAL 1;VAL?"]
    assert framer.feed(b"IAL\n") == ["PARTIAL"]
    assert framer.feed(b"LAST") == []
    assert framer.end() == ["LAST"]


def test_framer_whole_lines_at_once_equal_the_same_bytes_one_by_one():
    """Whole lines without a '#' take the framer's short path; any split of the same bytes (the careful
    scan) gives the same messages."""
    import random

    rng = random.Random(5)
    alphabet = b"abc:*?;, \"'\r\n\x00\xff"
    for _ in range(300):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 40))) + b"\n"
        whole = MessageFramer(None).feed(data)
        framer, pieces = MessageFramer(None), []
        for k in range(len(data)):
            pieces += framer.feed(data[k : k + 1])
        assert whole == pieces, data


def test_framer_keeps_newlines_inside_a_binary_block_split_across_feeds():
    block = b"#210" + b"a\nb\r\nc\n\nde"  # 10 data bytes, 5 of them line ends
    framer = MessageFramer()
    got = []
    for i in range(0, len(block)):  # one byte at a time: the worst case for the header
        got += framer.feed(b"DATA " + block[:1] if i == 0 else block[i : i + 1])
    got += framer.feed(b"\nNEXT\n")
    assert got == ["DATA " + block.decode("latin-1"), "NEXT"]


def test_framer_treats_hash_in_quotes_and_non_decimal_numbers_as_text():
    framer = MessageFramer()
    assert framer.feed(b"DISP:TEXT \"#1\"\n*ESE #H20\nX '#9'\n") == ['DISP:TEXT "#1"', "*ESE #H20", "X '#9'"]


def test_framer_bounds_unfinished_messages_and_declared_blocks():
    framer = MessageFramer(max_message_bytes=1000)
    with pytest.raises(MessageTooLong, match="max_message_bytes=1000"):
        for _ in range(20):
            framer.feed(b"x" * 100)
    assert framer.pending_bytes == 0
    framer.feed(b"ABC")
    assert framer.pending_bytes == 3
    with pytest.raises(MessageTooLong, match="binary block of 5000 bytes"):
        framer.feed(b" #45000")
    assert framer.pending_bytes == 0  # the unfinished message is dropped with the error, and counted so
    with pytest.raises(ValueError, match="max_message_bytes"):
        MessageFramer(max_message_bytes=0)


def test_parse_fault_texts():
    assert parse_fault("smu:latency=0.2") == ("smu", Latency(0.2))
    assert parse_fault("GPIB0::18::INSTR:drop=5") == ("GPIB0::18::INSTR", DropConnection(5))
    assert parse_fault("awg:drop-once=2") == ("awg", DropConnection(2, persistent=False))
    assert parse_fault("awg:hang") == ("awg", StopAnswering(1))
    assert parse_fault("scope:hang=3") == ("scope", StopAnswering(3))
    assert parse_fault("smu:error=-350,Queue overflow") == ("smu", PushError(-350, "Queue overflow"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("smu", "must look like"),
        ("smu:explode", "unknown kind 'explode'"),
        ("smu:drop=zero", "bad value"),
        ("smu:drop=0", "at must be an integer >= 1"),
        ("smu:latency=-1", "Latency seconds must be in"),
    ],
)
def test_parse_fault_names_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(text)


def test_split_spec_takes_fault_options_out_of_a_bench_spec():
    assert split_spec("seed=3; fault=smu:drop=5;array=4x4;fault=awg:hang") == (
        "seed=3;array=4x4",
        ["smu:drop=5", "awg:hang"],
    )
    assert split_spec("") == ("", [])


def test_fault_plan_counts_commands_after_the_fault_was_added():
    bench = ProbeBench()
    plan = FaultPlan(bench.instruments)
    smu = plan.resolve("smu")
    assert smu == "GPIB0::18::INSTR" == plan.resolve("gpib0::18::instr") == plan.resolve("GPIB::18")
    plan.add("awg", Latency(0.0))  # any fault switches counting on
    plan.before_command(smu)
    plan.add(smu, DropConnection(at=2))
    assert plan.before_command(smu).action == PASS
    assert plan.before_command(smu).action == DROP
    assert plan.before_command(smu).action == DROP and plan.is_dropped(smu)
    plan.clear(smu)
    assert plan.before_command(smu).action == PASS and not plan.is_dropped(smu)


def test_fault_plan_stop_answering_latency_and_push_error():
    bench = ProbeBench()
    plan = FaultPlan(bench.instruments)
    plan.add("smu", Latency(0.25))
    plan.add("smu", StopAnswering(at=2))
    verdict = plan.before_command("GPIB0::18::INSTR")
    assert (verdict.action, verdict.delay_s) == (PASS, 0.25)
    assert not plan.is_silent("GPIB0::18::INSTR")
    assert plan.before_command("GPIB0::18::INSTR").action == IGNORE
    assert plan.is_silent("GPIB0::18::INSTR")
    assert plan.active("smu") == (Latency(0.25), StopAnswering(2))
    plan.add("awg", PushError(-350, "Queue overflow"))
    assert bench.instruments["GPIB0::10::INSTR"].errors == [(-350, "Queue overflow")]
    with pytest.raises(ValueError, match="not a resource of this bench; allowed: GPIB0::10::INSTR"):
        plan.add("dmm", Latency(1))
    with pytest.raises(TypeError, match="fault must be"):
        plan.add("smu", "drop")


def test_a_block_header_without_its_digits_is_text_and_the_next_message_is_answered():
    """'#9' then a newline: not a block (its length digits are missing), so the newline ends the message
    and '*OPC?' after it is answered (the framer used to wait for nine more digits forever)."""
    framer = MessageFramer(1024)
    assert framer.feed(b"#9\n*OPC?\n") == ["#9", "*OPC?"]
    assert framer.feed(b"DATA #9") == [] and framer.feed(b"12\n*OPC?\n") == ["DATA #912", "*OPC?"]
    assert framer.feed(b"DATA #211ab\ncdefghij\n") == ["DATA #211ab\ncdefghij"]  # a real block keeps its newline
