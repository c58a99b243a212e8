from django.urls import path

from urbangov.cases import views

app_name = "cases"

urlpatterns = [
    path("new/", views.submit, name="submit"),
    path("track/", views.track, name="track"),
    path("workbench/", views.workbench, name="workbench"),
]
