from django.urls import path

from gridroll.residents import views

app_name = "residents"
urlpatterns = [
    path("residents/", views.search, name="search"),
    path("residents/<int:pk>/", views.resident_detail, name="detail"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="edit"),
    path("residents/<int:pk>/move/", views.resident_move, name="move"),
    path("residents/<int:pk>/status/", views.resident_status, name="status"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="reveal"),
    path("households/<int:household_pk>/add/", views.resident_create, name="create"),
    path("registry/import/", views.import_upload, name="import"),
    path("registry/import/<int:pk>/", views.import_batch, name="import_batch"),
    path("registry/import/<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("registry/import/<int:pk>/rejects/", views.import_rejects, name="import_rejects"),
    path("registry/import/<int:pk>/to-check/", views.import_to_check, name="import_to_check"),
    path("registry/template.xlsx", views.import_template, name="template"),
]
