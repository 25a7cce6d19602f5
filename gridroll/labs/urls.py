from django.urls import path

from gridroll.labs import views

app_name = "labs"
urlpatterns = [
    path("labs/", views.lab_home, name="home"),
    path("labs/boxes/<int:pk>/", views.box_receive, name="box"),
    path("labs/uploads/<int:pk>/", views.upload_detail, name="upload"),
    path("labs/conflicts/", views.conflicts, name="conflicts"),
    path("labs/conflicts/<int:pk>/", views.resolve, name="resolve"),
    path("labs/turnaround/", views.turnaround, name="turnaround"),
    path("retests/", views.retests, name="retests"),
]
