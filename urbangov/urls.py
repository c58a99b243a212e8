from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from urbangov.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", api.urls),
    path("open311/v2/", include("urbangov.open311.urls")),
    path("cases/", include("urbangov.cases.urls")),
    path("participation/", include("urbangov.participation.urls")),
    path("", include("urbangov.portal.urls")),
]
# Uploaded files are never served as public media: attachments are read through a view
# that checks who is asking.
