from django.urls import path

from urbangov.algorithms import views

app_name = "algorithms"

urlpatterns = [
    path("", views.register, name="register"),
    path("register.json", views.register_json, name="register_json"),
    path("contest/", views.contest, name="contest"),
    path("appeal/<str:token>/", views.appeal, name="appeal"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_decide, name="appeal_decide"),
    path("manage/", views.manage, name="manage"),
    path("manage/<slug:code>/", views.manage_detail, name="manage_detail"),
    path("manage/<slug:code>/assess/", views.manage_assess, name="manage_assess"),
    path("manage/<slug:code>/review/", views.manage_review, name="manage_review"),
    path("manage/<slug:code>/phase/", views.manage_phase, name="manage_phase"),
    path("<slug:code>/", views.register_detail, name="register_detail"),
]
