from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from urbangov.api import api
from urbangov.privacy.throttle import throttled

urlpatterns = [
    # Sign-ins are throttled (urbangov.privacy.throttle); the admin's too, ahead of its URLs.
    path("admin/login/", throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", throttled(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", api.urls),
    path("open311/v2/", include("urbangov.open311.urls")),
    path("cases/", include("urbangov.cases.urls")),
    path("dispatch/", include("urbangov.dispatch.urls")),
    path("algorithms/", include("urbangov.algorithms.urls")),
    path("supervision/", include("urbangov.supervision.urls")),
    path("equity/", include("urbangov.equity.urls")),
    path("participation/", include("urbangov.participation.urls")),
    # The auditors' pages, open data, and the second factor (urbangov.privacy).
    path("", include("urbangov.privacy.urls")),
    path("", include("urbangov.portal.urls")),
]
# Uploaded files are never served as public media: attachments are read through a view
# that checks who is asking.
