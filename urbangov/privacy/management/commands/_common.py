"""What the privacy commands share: the acting user, dates, and refusals as exit status 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from urbangov.privacy.actions import Refused

BAD_INPUT = 2


def fail(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def acting_user(username: str | None, allowed: Callable[[Any], bool], what: str) -> User:
    """The account a command acts as (``--user``), which must be allowed to do ``what``."""
    if not username:
        raise fail(f"Say who you are with --user USERNAME: {what} is done in a person's name.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise fail(f"No active account {username!r}.")
    if not allowed(user):
        raise fail(f"{username} may not {what}.")
    assert isinstance(user, User)
    return user


def moment(value: str | None, name: str) -> datetime | None:
    """An ISO date (midnight, the city's time zone) or date and time (with or without zone)."""
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise fail(f"{name}: {value!r} is not a date (YYYY-MM-DD) or an ISO date and time.")
        parsed = datetime.combine(day, time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def explain(exc: ValidationError | Refused) -> CommandError:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return fail(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        )
    if isinstance(exc, ValidationError):
        return fail(" ".join(exc.messages))
    return fail(str(exc))
