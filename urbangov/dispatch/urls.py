from django.urls import path

from urbangov.dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("cases/<int:pk>/", views.decision, name="decision"),
    path("cases/<int:pk>/accept/", views.accept, name="accept"),
    path("cases/<int:pk>/correct/", views.correct, name="correct"),
]
