"""Timestamps as the expression language's date functions read and write them.

They are kept as ticks (100-nanosecond intervals since 0001-01-01T00:00:00 UTC, .NET's unit, which
`ticks()` returns), so seven fractional digits survive arithmetic exactly. Input is ISO 8601; output
is ISO 8601 with seven fractional digits and a Z (.NET's round-trip format "o", the functions'
default), or the custom format a function is given, of which the specifiers the repository's
pipelines use are implemented: yyyy, MM, dd, HH, mm, ss, f to fffffff, and the literals - / : T . _ and space.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from orchestrator.pipelines.errors import PipelineError, unsupported

TICKS_PER_MICROSECOND = 10
TICKS_PER_SECOND = 10_000_000
TICKS_PER_HOUR = 3600 * TICKS_PER_SECOND
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)
_RUN = re.compile(r"(.)\1*")
_FIELDS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_LITERALS = set("-/:T._ ")


def to_ticks(value: object, function: str) -> int:
    """The ticks of an ISO 8601 timestamp string; a time without a zone is UTC, as the service reads it."""
    if not isinstance(value, str):
        raise PipelineError(f"{function}: expected a timestamp string, got {value!r}")
    found = _ISO.fullmatch(value.strip())
    if found is None:
        raise PipelineError(f"{function}: {value!r} is not an ISO 8601 timestamp")
    try:
        moment = datetime.fromisoformat(found["date"]).replace(
            hour=int(found["h"] or 0), minute=int(found["m"] or 0), second=int(found["s"] or 0), tzinfo=UTC)
    except ValueError as exc:
        raise PipelineError(f"{function}: {value!r} is not a valid timestamp ({exc})") from None
    zone = found["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    fraction = int((found["f"] or "").ljust(7, "0"))
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + fraction


def _datetime(ticks: int, function: str) -> tuple[datetime, int]:
    """The moment to the second, and the ticks within that second."""
    if ticks < 0:
        raise PipelineError(f"{function}: the timestamp falls before year 1")
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    try:
        return _EPOCH + timedelta(seconds=seconds), fraction
    except OverflowError:
        raise PipelineError(f"{function}: the timestamp falls after year 9999") from None


def to_text(ticks: int, fmt: object, function: str) -> str:
    """`ticks` written in `fmt` (None: the round-trip format "o")."""
    if fmt is None or fmt in ("o", "O"):
        fmt = "yyyy-MM-ddTHH:mm:ss.fffffff"
        suffix = "Z"
    else:
        suffix = ""
    if not isinstance(fmt, str) or not fmt:
        raise PipelineError(f"{function}: the format must be a non-empty string, got {fmt!r}")
    if len(fmt) == 1:
        raise unsupported(f"{function}: the standard format {fmt!r}")
    moment, fraction = _datetime(ticks, function)
    out = []
    for run in _RUN.finditer(fmt):
        token = run.group(0)
        if token in _FIELDS:
            out.append(moment.strftime(_FIELDS[token]))
        elif token[0] == "f" and len(token) <= 7:
            out.append(f"{fraction:07d}"[: len(token)])
        elif token[0] in _LITERALS:
            out.append(token)
        else:
            raise unsupported(f"{function}: the format specifier {token!r} (in {fmt!r})")
    return "".join(out) + suffix
