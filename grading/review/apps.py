from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    """Teacher review of auto-graded work (a sub-app of grading with its own tables)."""

    name = "grading.review"
    label = "review"
    verbose_name = _("Grade review")

    def ready(self) -> None:
        from grading.signals import proposal_ready

        from .signals import on_proposal_ready

        proposal_ready.connect(on_proposal_ready, dispatch_uid="review.on_proposal_ready")
        # Essays a teacher marked "model mistake" weigh more in the assignment's next training run.
        from grading import training

        if _weights_provider not in training.sample_weight_providers:
            training.sample_weight_providers.append(_weights_provider)


def _weights_provider(assignment_id: int) -> dict[int, float]:
    from .selectors import training_weights

    return training_weights(assignment_id=assignment_id)
