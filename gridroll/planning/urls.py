from django.urls import path

from gridroll.planning import views

app_name = "planning"
urlpatterns = [
    path("planning/rounds/<int:round_pk>/", views.round_plans, name="round"),
    path("planning/plans/<int:pk>/", views.plan_detail, name="plan"),
    path("planning/plans/<int:pk>/replan/", views.replan, name="replan"),
    path("planning/plans/<int:pk>/accept/", views.accept, name="accept"),
    path("planning/sites/<int:pk>/capacity/", views.site_capacity, name="site_capacity"),
]
