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

        # The evaluation's queue of changed cases is written with the change itself (one
        # transaction, not a second one after the commit).
        signals.case_written.connect(_written, sender=Case, dispatch_uid="supervision.case_written")
        signals.case_transitioned.connect(
            _transitioned, sender=Case, dispatch_uid="supervision.case_transitioned"
        )
        from urbangov.supervision import checks  # noqa: F401  (registers the system check)


def _written(sender: Any, case: Any, inserted: bool = False, **kwargs: Any) -> None:
    from urbangov.supervision.actions import mark_dirty

    if inserted:
        # A transition in the transaction that inserted the case, which queued it then: no
        # fold can read the queue before this commits, so once is enough.
        return
    mark_dirty([case.pk])


def _transitioned(sender: Any, case: Any, name: str, **kwargs: Any) -> None:
    from urbangov.supervision.actions import notify_escalated

    if name == "escalate":
        notify_escalated(case)
