"""The local pipeline runner's expression language: the functions the repository's pipelines call,
evaluated as the service documents them, and everything else refused by name in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.data.event_time import ReplayWindow
from orchestrator.pipelines.errors import PipelineError, Unsupported
from orchestrator.pipelines.expressions import Scope, check_supported, evaluate

REPO = Path(__file__).resolve().parents[3]
INGEST = json.loads((REPO / "pipelines" / "ingest_events.json").read_text())["properties"]
FOR_EACH = INGEST["activities"][0]
HOUR_PATH = FOR_EACH["typeProperties"]["activities"][0]["typeProperties"]["dataset"]["parameters"]["hourPath"]
# .NET's DateTime(1970, 1, 1).Ticks: the Unix epoch in ticks, a published constant.
UNIX_EPOCH_TICKS = 621_355_968_000_000_000


def window_scope(start: str, end: str) -> Scope:
    return Scope(pipeline={"parameters": {"windowStart": start, "windowEnd": end}})


def hours_the_pipeline_copies(start: str, end: str) -> list[str]:
    """The repository's own ForEach items and hourPath expressions, evaluated."""
    scope = window_scope(start, end)
    return [evaluate(HOUR_PATH, scope.for_item(item)) for item in evaluate(FOR_EACH["typeProperties"]["items"], scope)]


@pytest.mark.parametrize(("start", "end", "hours"), [
    ("2025-12-31T23:30:00Z", "2026-01-01T02:15:00Z",
     ["2025/12/31/23", "2026/01/01/00", "2026/01/01/01", "2026/01/01/02"]),
    ("2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z", ["2026/01/01/00", "2026/01/01/01"]),  # the end is exclusive
    ("2026-01-01T00:59:59Z", "2026-01-01T01:00:01Z", ["2026/01/01/00", "2026/01/01/01"]),
    ("2026-02-28T23:10:00Z", "2026-03-01T00:05:00Z", ["2026/02/28/23", "2026/03/01/00"]),
])
def test_the_ingestion_pipelines_hours_are_the_windows_hours(start, end, hours):
    assert hours_the_pipeline_copies(start, end) == hours
    promised = [h.strftime("%Y/%m/%d/%H") for h in ReplayWindow(start, end).hours()]
    assert promised == hours  # the window's own account of its hours (event_time.py) agrees


def test_an_empty_window_fails_as_the_service_does_on_range_with_no_count():
    with pytest.raises(PipelineError, match=r"range: the count must be a positive integer up to 100000, got 0"):
        hours_the_pipeline_copies("2026-01-01T01:00:00Z", "2026-01-01T01:00:00Z")


def test_ticks_count_100ns_intervals_from_year_one():
    scope = Scope()
    assert evaluate("@ticks('1970-01-01T00:00:00Z')", scope) == UNIX_EPOCH_TICKS
    assert evaluate("@ticks('0001-01-01T00:00:00.0000001Z')", scope) == 1
    assert evaluate("@ticks('1970-01-01T02:00:00+02:00')", scope) == UNIX_EPOCH_TICKS  # an offset is read as UTC
    assert evaluate("@ticks('1970-01-01')", scope) == UNIX_EPOCH_TICKS


def test_date_functions_keep_seven_fractional_digits_and_write_round_trip_format():
    scope = Scope()
    assert evaluate("@addHours('2026-01-01T23:00:00.1234567Z', 2)", scope) == "2026-01-02T01:00:00.1234567Z"
    assert evaluate("@addHours('2026-01-01T00:00:00Z', -1)", scope) == "2025-12-31T23:00:00.0000000Z"
    assert evaluate("@startOfHour('2026-01-01T10:59:59.9999999+02:00')", scope) == "2026-01-01T08:00:00.0000000Z"
    assert evaluate("@formatDateTime('2026-03-04T05:06:07.89Z', 'yyyy-MM-dd HH:mm:ss.fff')", scope) \
        == "2026-03-04 05:06:07.890"
    assert evaluate("@startOfHour('2026-01-01T10:30:00Z', 'yyyy/MM/dd/HH')", scope) == "2026/01/01/10"


def test_arithmetic_as_documented():
    scope = Scope()
    assert evaluate("@div(7, 2)", scope) == 3
    assert evaluate("@div(-7, 2)", scope) == -3  # truncated toward zero, as .NET divides integers
    assert evaluate("@div(7.0, 2)", scope) == 3.5
    assert evaluate("@add(sub(10, 4), 1)", scope) == 7
    assert evaluate("@range(2, 3)", scope) == [2, 3, 4]
    with pytest.raises(PipelineError, match="div: division by zero"):
        evaluate("@div(1, 0)", scope)
    with pytest.raises(PipelineError, match=r"add: argument 2 must be a number, got '1'"):
        evaluate("@add(1, '1')", scope)


def test_strings_literals_and_escapes():
    scope = Scope(dataset={"hourPath": "2026/01/01/00"})
    assert evaluate({"value": "@concat('landing/events/', dataset().hourPath)", "type": "Expression"}, scope) \
        == "landing/events/2026/01/01/00"
    assert evaluate("@concat('it''s', '')", scope) == "it's"
    assert evaluate("@@not an expression", scope) == "@not an expression"
    assert evaluate("plain", scope) == "plain"
    assert evaluate(5, scope) == 5


def test_accessors_and_what_each_scope_offers():
    scope = Scope(pipeline={"parameters": {"p": {"a": [10, 20]}}}, activities={"Probe": {"output": {"exists": True}}})
    assert evaluate("@pipeline().parameters.p.a[1]", scope) == 20
    assert evaluate("@pipeline().parameters.p['a'][0]", scope) == 10
    assert evaluate("@activity('Probe').output.exists", scope) is True
    assert evaluate("@pipeline().parameters?.missing", scope) is None
    with pytest.raises(PipelineError, match=r"no property 'windowstart' in an object \(it has p\)"):
        evaluate("@pipeline().parameters.windowstart", scope)
    with pytest.raises(PipelineError, match=r"activity\('Later'\): no activity of that name has run before this one"):
        evaluate("@activity('Later').output", scope)
    with pytest.raises(PipelineError, match=r"item\(\) is only available inside a ForEach"):
        evaluate("@item()", scope)
    with pytest.raises(PipelineError, match=r"dataset\(\) is only available inside a dataset"):
        evaluate("@dataset().hourPath", scope)
    with pytest.raises(PipelineError, match=r"pipeline\(\) is only available in a pipeline's activities"):
        evaluate("@pipeline().parameters", scope.in_dataset({}))


@pytest.mark.parametrize(("value", "named"), [
    ("@utcNow()", "the function 'utcNow'"),
    ("@formatDateTime(pipeline().parameters.windowStart, 'yyyy/MM/dd hh tt')", "the format specifier 'hh'"),
    ("@formatDateTime(pipeline().parameters.windowStart, 'd')", "the standard format 'd'"),
    ("landing/@{pipeline().parameters.windowStart}", "string interpolation"),
    ("@equals(1, 2)", "the function 'equals'"),
    ("@equals(1, true)", "the bare name 'true'"),
])
def test_what_the_runner_does_not_implement_is_refused_in_one_line_naming_it(value, named):
    scope = window_scope("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    with pytest.raises(Unsupported) as refused:
        evaluate(value, scope)
    message = str(refused.value)
    assert named in message and message.endswith("is not supported by the local pipeline runner")
    assert "\n" not in message


def test_check_supported_finds_an_unsupported_function_anywhere_without_running_it():
    definition = {"typeProperties": {"items": {"value": "@range(0, 2)", "type": "Expression"},
                                     "nested": [{"x": "@concat('a', guid())"}]}}
    with pytest.raises(Unsupported, match=r"the function 'guid' \(in @concat\('a', guid\(\)\)\)"):
        check_supported(definition)
    check_supported(INGEST)  # the repository's own pipeline: everything it calls is implemented
    with pytest.raises(Unsupported, match=r"formatDateTime: the format specifier 'tt'"):
        check_supported({"hourPath": "@formatDateTime(item(), 'yyyy/MM/dd/HH tt')"})


@pytest.mark.parametrize("text", ["@add(1,", "@add(1 2)", "@pipeline().", "@'open", "@range(0, 1))"])
def test_a_malformed_expression_says_where(text):
    with pytest.raises(PipelineError, match=r"expression @.*(expected|unexpected)"):
        evaluate(text, Scope())


def test_timestamps_out_of_range_or_malformed_are_one_line_errors():
    with pytest.raises(PipelineError, match=r"ticks: '2026-13-01T00:00:00Z' is not a valid timestamp"):
        evaluate("@ticks('2026-13-01T00:00:00Z')", Scope())
    with pytest.raises(PipelineError, match=r"addHours: the timestamp falls before year 1"):
        evaluate("@addHours('0001-01-01T00:00:00Z', -1)", Scope())
    with pytest.raises(PipelineError, match=r"startOfHour: 'yesterday' is not an ISO 8601 timestamp"):
        evaluate("@startOfHour('yesterday')", Scope())


def test_the_window_hours_match_the_pipeline_for_any_window_start_and_length():
    """The window's hours (event_time.py, what the replay's check expects) and the pipeline's own
    expressions agree, over windows that start anywhere in an hour and last minutes to a day."""
    start = datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    for minutes in (0, 1, 29, 59, 60, 61, 119, 180, 1439, 1440):
        for offset in (0, 7, 30, 59):
            begin = start + timedelta(minutes=offset)
            end = begin + timedelta(minutes=minutes, seconds=1)
            window = ReplayWindow(begin.isoformat().replace("+00:00", "Z"), end.isoformat().replace("+00:00", "Z"))
            assert hours_the_pipeline_copies(window.start, window.end) == \
                [h.strftime("%Y/%m/%d/%H") for h in window.hours()], window
