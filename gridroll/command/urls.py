from django.urls import path

from gridroll.command import views

app_name = "command"
urlpatterns = [
    path("command/", views.start, name="start"),
    path("command/<int:round_pk>/<int:area_pk>/", views.board, name="board"),
    path("command/<int:round_pk>/<int:area_pk>/data.json", views.data, name="data"),
    path(
        "command/<int:round_pk>/<int:area_pk>/report.xlsx", views.report, {"fmt": "xlsx"}, name="report_xlsx"
    ),
    path("command/<int:round_pk>/<int:area_pk>/report.pdf", views.report, {"fmt": "pdf"}, name="report_pdf"),
]
