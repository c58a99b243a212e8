from django.urls import path

from urbangov.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/audit/", views.audit_log, name="audit_log"),
    path("privacy/sharing/", views.sharing, name="sharing"),
    path("open-data/", views.open_data, name="open_data"),
    path(
        "open-data/<slug:dataset>/<slug:level>.<str:fmt>",
        views.open_data_file,
        name="open_data_file",
    ),
    path("accounts/2fa/setup/", views.otp_setup, name="otp_setup"),
    path("accounts/2fa/verify/", views.otp_verify, name="otp_verify"),
]
