from django.apps import AppConfig


class LTIConfig(AppConfig):
    name = "eduai.lti"
    label = "lti"
    verbose_name = "LTI 1.3 tool"

    def ready(self) -> None:
        from grading.signals import grade_released, proposal_ready

        from . import signals

        proposal_ready.connect(signals.on_proposal_ready, dispatch_uid="eduai.lti.proposal_ready")
        grade_released.connect(signals.on_grade_released, dispatch_uid="eduai.lti.grade_released")
