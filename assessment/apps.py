from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "assessment"
    verbose_name = "Assessment"

    def ready(self) -> None:
        from eduai.courses.signals import activity_recorded
        from grading.signals import grade_released

        from . import signals

        activity_recorded.connect(signals.on_activity_recorded, dispatch_uid="assessment.activity_recorded")
        grade_released.connect(signals.on_grade_released, dispatch_uid="assessment.grade_released")
