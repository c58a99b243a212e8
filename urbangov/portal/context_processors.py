from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from urbangov.cases.permissions import can_take_intake
from urbangov.org.queries import is_staff_member


def preferences(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "elder_mode": getattr(request, "elder_mode", False),
        "city_name": settings.URBANGOV["CITY_NAME"],
        "is_staff_member": bool(user is not None and is_staff_member(user)),
        "can_take_intake": bool(user is not None and can_take_intake(user)),
    }
