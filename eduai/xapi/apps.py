from django.apps import AppConfig


class XApiConfig(AppConfig):
    name = "eduai.xapi"
    label = "xapi"
