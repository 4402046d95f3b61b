from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "eduai.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"
