from django.urls import path

from gridroll.jobs import views

app_name = "jobs"
urlpatterns = [
    path("files/", views.job_list, name="list"),
    path("files/<int:pk>/", views.job_detail, name="detail"),
    path("files/<int:pk>/status/", views.job_status, name="status"),
    path("files/<int:pk>/download/", views.job_download, name="download"),
]
