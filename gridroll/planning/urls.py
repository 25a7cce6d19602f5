from django.urls import path

from gridroll.planning import notices, views

app_name = "planning"
urlpatterns = [
    path("planning/rounds/<int:round_pk>/", views.round_plans, name="round"),
    path("planning/plans/<int:pk>/", views.plan_detail, name="plan"),
    path("planning/plans/<int:pk>/replan/", views.replan, name="replan"),
    path("planning/plans/<int:pk>/accept/", views.accept, name="accept"),
    path("planning/sites/<int:pk>/capacity/", views.site_capacity, name="site_capacity"),
    path("planning/rounds/<int:round_pk>/buildings/<int:building_pk>/notice/", notices.notice, name="notice"),
    path(
        "planning/rounds/<int:round_pk>/buildings/<int:building_pk>/notice.pdf",
        notices.notice,
        {"fmt": "pdf"},
        name="notice_pdf",
    ),
    path(
        "planning/rounds/<int:round_pk>/buildings/<int:building_pk>/notice.txt",
        notices.notice,
        {"fmt": "txt"},
        name="notice_text",
    ),
    path("planning/rounds/<int:round_pk>/grids/<int:grid_pk>/slots/", notices.grid_slots, name="grid_slots"),
]
