from django.urls import path

from gridroll.reconcile import views

app_name = "reconcile"
urlpatterns = [
    path("reconcile/", views.feeds, name="feeds"),
    path("reconcile/<int:pk>/", views.feed_detail, name="feed"),
    path("reconcile/<int:pk>/lines/", views.worklist, name="worklist"),
    path("reconcile/<int:pk>/export.xlsx", views.export, name="export"),
    path("reconcile/<int:pk>/confirm/", views.confirm_many, name="confirm_many"),
    path("reconcile/<int:pk>/rematch/", views.rematch, name="rematch"),
    path("reconcile/<int:pk>/delete/", views.delete, name="delete"),
    path("reconcile/lines/<int:pk>/decide/", views.decide, name="decide"),
    path("reconcile/lines/<int:pk>/undo/", views.undo, name="undo"),
    path("reconcile/lines/<int:pk>/add/", views.add_resident, name="add"),
]
