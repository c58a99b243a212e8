from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "urbangov.dispatch"
    label = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        from django.conf import settings

        from urbangov.algorithms import explain as tellers
        from urbangov.algorithms.signals import appeal_decided
        from urbangov.cases.models import Case
        from urbangov.cases.signals import case_transitioned, case_written
        from urbangov.dispatch import actions, classifier, explain, routing

        routing.connect_signals()
        # A rating goes onto the decision (satisfaction in the audits); an overturned
        # routing sends a case still with a unit back to the operators.
        case_transitioned.connect(
            actions.on_transitioned, sender=Case, dispatch_uid="dispatch.case_transitioned"
        )
        appeal_decided.connect(actions.on_appeal_decided, dispatch_uid="dispatch.appeal_decided")
        tellers.register(classifier.ALGORITHM, public=explain.public, staff=explain.staff)
        if settings.URBANGOV.get("DISPATCH_INLINE"):
            # Instant routing, in the request and the transaction that store the case;
            # otherwise the worker's job decides new cases every few seconds.
            case_written.connect(actions.on_written, sender=Case, dispatch_uid="dispatch.inline")
