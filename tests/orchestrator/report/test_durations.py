"""Durations for people: seconds under a minute, then minutes and seconds, then hours and minutes."""

from __future__ import annotations

import pytest

from orchestrator.report.durations import human_duration


@pytest.mark.parametrize("seconds, text", [
    (None, "-"), (0, "0.0s"), (42.04, "42.0s"), (59.94, "59.9s"), (60, "1m00s"), (185, "3m05s"),
    (3599.6, "1h00m"), (4020, "1h07m"),
])
def test_a_duration_reads_at_the_scale_it_has(seconds, text):
    assert human_duration(seconds) == text
