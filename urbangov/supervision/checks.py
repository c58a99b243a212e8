"""A city's settings for supervision are checked at start-up (``urbangov check``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from urbangov.supervision.queries import WeightsError, configured_weights


@checks.register()
def weights_sum_to_100(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        configured_weights()
    except WeightsError as exc:
        return [checks.Error(str(exc), id="supervision.E001")]
    return []
