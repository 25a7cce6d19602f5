from django.urls import path

from gridroll.codes import views

app_name = "codes"
urlpatterns = [
    path("register/", views.register_start, name="register"),
    path("register/c/<int:area_pk>/", views.register_community, name="register_community"),
    path("register/s/<str:token>/", views.register_site, name="register_site"),
    path("me/<str:secret>/", views.me, name="me"),
    path("me/<str:secret>/add/", views.me_add, name="me_add"),
    path("me/<str:secret>/verify/", views.me_verify, name="me_verify"),
    path("me/<str:secret>/code/<str:short_code>/", views.me_code, name="me_code"),
    path("residents/<int:pk>/code/issue/", views.issue, name="issue"),
    path("residents/<int:pk>/code/reissue/", views.reissue, name="reissue"),
    path("residents/<int:pk>/link/", views.new_link, name="new_link"),
    path("codes/pending/", views.pending, name="pending"),
    path("codes/confirm/<str:kind>/<int:pk>/", views.confirm, name="confirm"),
    path("codes/reject/<str:kind>/<int:pk>/", views.reject, name="reject"),
    path("codes/cards/", views.cards, name="cards"),
    path("sites/", views.site_list, name="sites"),
    path("sites/<int:pk>/", views.site_edit, name="site_edit"),
    path("sites/<int:pk>/poster/", views.site_poster, name="site_poster"),
]
