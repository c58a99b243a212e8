from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "urbangov.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from urbangov.cases import signals
        from urbangov.cases.models import Case

        signals.case_submitted.connect(
            _submitted, sender=Case, dispatch_uid="supervision.case_submitted"
        )
        signals.case_transitioned.connect(
            _transitioned, sender=Case, dispatch_uid="supervision.case_transitioned"
        )
        from urbangov.supervision import checks  # noqa: F401  (registers the system check)


def _submitted(sender: Any, case: Any, **kwargs: Any) -> None:
    from urbangov.supervision.actions import mark_dirty

    mark_dirty([case.pk])


def _transitioned(sender: Any, case: Any, name: str, **kwargs: Any) -> None:
    from urbangov.supervision.actions import mark_dirty, notify_escalated

    mark_dirty([case.pk])
    if name == "escalate":
        notify_escalated(case)
