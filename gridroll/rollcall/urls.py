from django.urls import path

from gridroll.rollcall import views

app_name = "rollcall"
urlpatterns = [
    path("rollcall/", views.start, name="start"),
    path("rollcall/<int:round_pk>/<int:area_pk>/", views.area_roll, name="area"),
    path("rollcall/<int:round_pk>/<int:area_pk>/live/", views.live, name="live"),
    path("rollcall/<int:round_pk>/<int:area_pk>/b/<int:building_pk>/", views.building, name="building"),
    path("rollcall/<int:round_pk>/<int:area_pk>/b/<int:building_pk>/map/", views.flat_map, name="flat_map"),
    path("rollcall/<int:round_pk>/<int:area_pk>/sheet/", views.sheet, name="sheet"),
    path("rollcall/<int:round_pk>/<int:area_pk>/sheet.pdf", views.sheet, {"fmt": "pdf"}, name="sheet_pdf"),
    path("rollcall/<int:round_pk>/<int:area_pk>/sheet.xlsx", views.sheet, {"fmt": "xlsx"}, name="sheet_xlsx"),
    path("rollcall/<int:round_pk>/<int:area_pk>/home.xlsx", views.home_list, name="home_xlsx"),
    path("rollcall/<int:round_pk>/<int:area_pk>/repeat/", views.repeat_missing, name="repeat"),
    path("rollcall/entries/<int:pk>/exempt/", views.exempt, name="exempt"),
]
