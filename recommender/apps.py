from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from eduai.courses.models import LearningResource
        from eduai.courses.signals import activity_recorded
        from grading.signals import grade_released

        from . import signals

        activity_recorded.connect(signals.on_activity_recorded, dispatch_uid="recommender.activity_recorded")
        grade_released.connect(signals.on_grade_released, dispatch_uid="recommender.grade_released")
        post_save.connect(signals.on_resource_saved, sender=LearningResource, dispatch_uid="recommender.resource_saved")
