"""GeoReport v2 under /open311/v2/: every endpoint ends in its format, .json or .xml."""

from django.urls import URLPattern, re_path

from urbangov.open311 import views

app_name = "open311"

_FMT = r"\.(?P<fmt>[A-Za-z0-9]+)$"

urlpatterns: list[URLPattern] = [
    re_path(rf"^discovery{_FMT}", views.discovery, name="discovery"),
    re_path(rf"^services{_FMT}", views.services, name="services"),
    # Codes may hold dots ("water.leak"): the format is what follows the last one.
    re_path(rf"^services/(?P<code>[^/]+){_FMT}", views.service_definition, name="service"),
    re_path(rf"^requests{_FMT}", views.requests, name="requests"),
    re_path(rf"^requests/(?P<request_id>[^/.]+){_FMT}", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/.]+){_FMT}", views.token, name="token"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
