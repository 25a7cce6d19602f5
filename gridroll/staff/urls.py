from django.urls import path

from gridroll.staff import views

app_name = "staff"
urlpatterns = [
    path("staff/", views.register, name="register"),
    path("staff/export.csv", views.export, name="export"),
    path("staff/import/", views.import_upload, name="import"),
    path("staff/import/<int:pk>/", views.import_preview, name="import_preview"),
    path("staff/members/<int:pk>/", views.member, name="member"),
    path("staff/teams/", views.teams, name="teams"),
    path("staff/teams/<int:pk>/", views.team, name="team"),
    path("staff/rounds/<int:round_pk>/", views.board, name="board"),
    path("staff/me/", views.me, name="me"),
    path("staff/me/callups/<int:pk>/ack/", views.ack, name="ack"),
    path("staff/checkin/<str:token>/", views.checkin, name="checkin"),
]
