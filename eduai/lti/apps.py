from django.apps import AppConfig


class LTIConfig(AppConfig):
    name = "eduai.lti"
    label = "lti"
