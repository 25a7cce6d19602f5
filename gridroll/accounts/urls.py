from django.contrib.auth import views as auth_views
from django.urls import path

from gridroll.accounts import totp, views

app_name = "accounts"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", views.logout, name="logout"),
    path("totp/", totp.setup, name="totp_setup"),
    path("totp/verify/", totp.verify, name="totp_verify"),
]
