from django.urls import path

from urbangov.equity import views

app_name = "equity"

urlpatterns = [
    path("", views.index, name="index"),
    path("access/<str:kind>/", views.access, name="access"),
    path("reports/<int:pk>.<str:fmt>", views.report_download, name="report_download"),
    path("digital/", views.digital, name="digital"),
    path("service/", views.service, name="service"),
    path("siting/", views.siting, name="siting"),
    path("siting/<int:pk>/", views.plan_detail, name="plan"),
    path("siting/<int:pk>.<str:fmt>", views.plan_download, name="plan_download"),
]
