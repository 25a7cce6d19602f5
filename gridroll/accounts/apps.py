from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "gridroll.accounts"
    label = "accounts"
