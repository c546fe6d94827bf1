"""Append-only JSON lines: a torn last line is cut away, damage before it is refused."""

from __future__ import annotations

import pytest

from orchestrator.json_lines import JsonLines, TornLine, UnreadableLine


def read(data: bytes) -> tuple[list, JsonLines]:
    lines = JsonLines(data)
    return list(lines), lines


def test_complete_lines_are_read_in_order_and_all_count_as_valid():
    data = b'{"n": 1}\n{"n": 2}\n'
    records, lines = read(data)
    assert records == [(1, {"n": 1}), (2, {"n": 2})]
    assert lines.torn is None and lines.valid_size == len(data)


def test_an_unterminated_last_line_is_torn_and_not_history():
    records, lines = read(b'{"n": 1}\n{"n": 2')
    assert records == [(1, {"n": 1})]
    assert lines.torn == TornLine(line_no=2, offset=9, size=7, preview='{"n": 2')
    assert lines.valid_size == 9


def test_a_terminated_but_unreadable_last_line_is_torn_too():
    # Zero-filled blocks after a power loss: the newline made it, the content did not.
    records, lines = read(b'{"n": 1}\n\x00\x00\x00\n')
    assert records == [(1, {"n": 1})]
    assert lines.torn == TornLine(line_no=2, offset=9, size=4, preview="\x00\x00\x00")
    assert lines.valid_size == 9


def test_damage_before_the_last_line_is_refused_naming_the_line():
    with pytest.raises(UnreadableLine) as damaged:
        read(b'{"n": 1}\nnot json\n{"n": 3}\n')
    assert damaged.value.line_no == 2 and "not JSON" in str(damaged.value)


def test_nothing_written_yet_is_no_lines():
    records, lines = read(b"")
    assert records == [] and lines.torn is None and lines.valid_size == 0
