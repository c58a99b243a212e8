"""W3C date-time values (https://www.w3.org/TR/NOTE-datetime), as GeoReport v2 uses them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _

_PATTERN = re.compile(
    r"^(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
    r")?)?)?$"
)
# An unencoded "+" in a query string arrives as a space: "…T00:00:00 08:00".
_LOST_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


@dataclass(frozen=True)
class Period:
    """The span a W3C value names: a whole year, month or day, or down to the (micro)second."""

    start: datetime
    end: datetime  # exclusive


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse(value: str) -> Period:
    """The period ``value`` names; a ValueError with a message when it is not a W3C date-time.

    A value with a time and no offset is read in the city's time zone, as is a bare date.
    """
    text = _LOST_PLUS.sub(r"\1+\2", value.strip())
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            _("%(value)r is not a W3C date-time such as 2026-01-31T08:00:00+08:00.")
            % {"value": value[:60]}
        )
    g = match.groupdict()
    try:
        zone = _offset(g["tz"]) if g["tz"] else dj_timezone.get_current_timezone()
        fraction = g["fraction"] or ""
        start = datetime(
            int(g["year"]),
            int(g["month"] or 1),
            int(g["day"] or 1),
            int(g["hour"] or 0),
            int(g["minute"] or 0),
            int(g["second"] or 0),
            int((fraction + "000000")[:6]),
            tzinfo=zone,
        )
        if g["month"] is None:
            end = start.replace(year=start.year + 1)
        elif g["day"] is None:
            end = (start + timedelta(days=32)).replace(day=1)
        elif g["hour"] is None:
            end = start + timedelta(days=1)
        elif g["second"] is None:
            end = start + timedelta(minutes=1)
        elif not fraction:
            end = start + timedelta(seconds=1)
        else:
            end = start + timedelta(microseconds=1)
    except (ValueError, OverflowError):
        raise ValueError(
            _("%(value)r is not a real date and time.") % {"value": value[:60]}
        ) from None
    return Period(start, end)


def format_datetime(moment: datetime | None) -> str | None:
    """A W3C date-time with the city's UTC offset, to the second: 2026-01-31T08:00:00+08:00."""
    if moment is None:
        return None
    return dj_timezone.localtime(moment).isoformat(timespec="seconds")
