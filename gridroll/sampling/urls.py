from django.urls import path

from gridroll.sampling import views

app_name = "sampling"
urlpatterns = [
    path("scan/", views.scanner, name="scanner"),
    path("scan/sw.js", views.service_worker, name="service_worker"),
    path("scan/manifest.webmanifest", views.manifest, name="manifest"),
    path("sites/<int:pk>/board/", views.site_board, name="board"),
    path("sites/<int:pk>/boxes/", views.box_create, name="box_create"),
    path("boxes/<int:pk>/", views.box_detail, name="box"),
]
