from django.urls import path

from gridroll.sampling import rounds, views

app_name = "sampling"
urlpatterns = [
    path("scan/", views.scanner, name="scanner"),
    path("scan/sw.js", views.service_worker, name="service_worker"),
    path("scan/manifest.webmanifest", views.manifest, name="manifest"),
    path("sites/<int:pk>/board/", views.site_board, name="board"),
    path("sites/<int:pk>/boxes/", views.box_create, name="box_create"),
    path("boxes/<int:pk>/", views.box_detail, name="box"),
    path("rounds/", rounds.round_list, name="rounds"),
    path("rounds/<int:pk>/", rounds.round_detail, name="round"),
    path("rounds/<int:pk>/status/", rounds.round_status, name="round_status"),
    path("sites/<int:pk>/stations/", rounds.site_stations, name="stations"),
]
