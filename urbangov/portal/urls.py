from django.urls import path

from urbangov.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("preferences/elder/", views.elder_mode, name="elder_mode"),
]
