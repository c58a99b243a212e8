from django.apps import AppConfig
from django.contrib.auth.signals import user_login_failed
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "urbangov.privacy"
    label = "privacy"
    verbose_name = _("Privacy and audit")

    def ready(self) -> None:
        from urbangov.privacy import (
            checks,  # noqa: F401 - registers the deployment checks
            guard,
            registry,
            throttle,
        )

        # SQLite's append-only triggers call urbangov_flushing() (see privacy.guard).
        connection_created.connect(guard.register_sqlite_function, dispatch_uid="urbangov.guard")
        # Each app's declaration of its personal data (<app>/privacy.py).
        registry.autodiscover()
        # Failed sign-ins count towards the throttle (privacy.throttle).
        user_login_failed.connect(throttle.on_login_failed, dispatch_uid="urbangov.throttle")
