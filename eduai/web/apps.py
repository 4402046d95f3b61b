from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "eduai.web"
    label = "web"
    verbose_name = "Web pages"
