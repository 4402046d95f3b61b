from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "Grading"

    def ready(self) -> None:
        from eduai.courses.signals import submission_received

        from .signals import on_submission_received

        submission_received.connect(on_submission_received, dispatch_uid="grading.score_on_submission_received")
