from django.urls import path

from urbangov.supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("performance/", views.performance, name="performance"),
    path("cases/", views.evidence, name="evidence"),
    path("overdue/", views.overdue, name="overdue"),
    path("escalate/<int:pk>/", views.escalate, name="escalate"),
    path("units/<str:code>/", views.unit_board, name="unit_board"),
    path("streets.geojson", views.streets_geojson, name="streets_geojson"),
    path("hotspots/", views.hotspots, name="hotspots"),
    path("hotspots/<int:pk>/", views.hotspot, name="hotspot"),
    path("hotspots/<int:pk>/task/", views.hotspot_task, name="hotspot_task"),
    path("alerts/<int:pk>/task/", views.alert_task, name="alert_task"),
    path("report/", views.report, name="report"),
    path("notifications/", views.notifications, name="notifications"),
]
