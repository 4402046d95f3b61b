from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "eduai.accounts"
    label = "accounts"
    verbose_name = "Accounts"
