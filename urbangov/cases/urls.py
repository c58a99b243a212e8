from django.urls import path

from urbangov.cases import views

app_name = "cases"

urlpatterns = [
    # residents, no account needed
    path("new/", views.submit, name="submit"),
    path("new/step/<int:step>/", views.submit_step, name="submit_step"),
    path("new/done/", views.submitted, name="submitted"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_case, name="track_case"),
    path("track/<str:code>/rate/", views.rate, name="rate"),
    path("track/<str:code>/reopen/", views.reopen, name="reopen"),
    path("areas.geojson", views.areas, name="areas"),
    # staff
    path("workbench/", views.workbench, name="workbench"),
    path("intake/", views.intake, name="intake"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/files/<int:file_pk>/", views.attachment, name="attachment"),
    path("<int:pk>/do/<str:name>/", views.transition, name="transition"),
]
