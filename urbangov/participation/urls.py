from django.urls import path

from urbangov.participation import views

app_name = "participation"

urlpatterns = [
    path("", views.topic_list, name="topics"),
    path("topics/new/", views.topic_new, name="topic_new"),
    path("topics/<int:pk>/", views.topic_detail, name="topic"),
    path("topics/<int:pk>/opinion/", views.opinion, name="opinion"),
    path("topics/<int:pk>/do/<str:name>/", views.topic_do, name="topic_do"),
    path("topics/<int:pk>/manage/", views.manage, name="manage"),
    path("topics/<int:pk>/manage/<str:name>/", views.manage_do, name="manage_do"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/do/<str:name>/", views.meeting_do, name="meeting_do"),
    path("petitions/", views.petitions, name="petitions"),
    path("petitions/<int:pk>/sign/", views.petition_sign, name="petition_sign"),
    path("account/register/", views.register, name="register"),
    path("account/verify/", views.verify, name="verify"),
    path("counter/", views.counter, name="counter"),
    path("notifications/", views.notifications, name="notifications"),
]
