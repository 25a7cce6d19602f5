from django.urls import path

from gridroll.areas import views

app_name = "areas"
urlpatterns = [
    path("areas/<int:pk>/", views.area_detail, name="area"),
    path("areas/<int:pk>/export.xlsx", views.area_export, name="area_export"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("households/<int:pk>/", views.household_detail, name="household"),
]
