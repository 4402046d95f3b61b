"""Forms of the review pages: the decision form (accept / override / release) and the filters.

The decision form is one form with submit buttons ``action=override`` (first in the page, so
Enter in the score field overrides) and ``action=accept``: the release choices (which feedback,
evidence) apply to whichever the teacher presses. Scores are validated here for shape and range
(the service validates again against the rubric: it is the authority).
"""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from eduai.courses.models import ReleasePolicy

from .selectors import STATUSES

STATUS_LABELS = {
    "waiting": _("Waiting for review"),
    "reviewed": _("Decided, not released"),
    "released": _("Released"),
    "all": _("All"),
}


class QueueFilterForm(forms.Form):
    assignment = forms.TypedChoiceField(label=_("Assignment"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Show"), required=False, choices=[(s, STATUS_LABELS[s]) for s in STATUSES])
    page = forms.IntegerField(required=False, min_value=1, max_value=100000)

    def __init__(self, *args, assignments: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignment"].choices = [("", _("All assignments")), *assignments]  # type: ignore[attr-defined]

    def cleaned(self) -> tuple[int | None, str, int]:
        """(assignment id, status, page); bad values fall back to the defaults."""
        if not self.is_valid():
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            data = self.cleaned_data
        return data.get("assignment"), data.get("status") or "waiting", data.get("page") or 1


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("accept", _("Accept")), ("override", _("Override")), ("release", _("Release"))]
    )
    prediction = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    score = forms.IntegerField(label=_("Your score"), required=False)
    comment = forms.CharField(
        label=_("Comment for the student (optional)"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    model_mistake = forms.BooleanField(
        label=_("The model made a mistake here (weight this essay more when it retrains)"), required=False
    )
    release = forms.BooleanField(label=_("Release to the student now"), required=False, initial=True)
    feedback = forms.MultipleChoiceField(
        label=_("Feedback to release"), required=False, widget=forms.CheckboxSelectMultiple
    )
    evidence = forms.BooleanField(label=_("Also show the student which sentences raised or lowered the score"),
                                  required=False)  # fmt: skip

    def __init__(self, *args, assignment, traits, feedback_choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.trait_names = [t.name for t in traits]
        score = self.fields["score"]
        score.validators += [MinValueValidator(assignment.min_score), MaxValueValidator(assignment.max_score)]
        score.widget.attrs.update({"min": assignment.min_score, "max": assignment.max_score, "inputmode": "numeric"})
        for k, t in enumerate(traits):
            self.fields[f"trait_{k}"] = forms.IntegerField(
                label=t.name, required=False, min_value=t.min_score, max_value=t.max_score,
                widget=forms.NumberInput(attrs={"min": t.min_score, "max": t.max_score}),
            )  # fmt: skip
        self.fields["feedback"].choices = feedback_choices  # type: ignore[attr-defined]

    def trait_fields(self) -> list[forms.BoundField]:
        return [self[f"trait_{k}"] for k in range(len(self.trait_names))]

    def trait_scores(self) -> dict[str, int]:
        out = {}
        for k, name in enumerate(self.trait_names):
            value = self.cleaned_data.get(f"trait_{k}")
            if value is not None:
                out[name] = value
        return out

    def clean(self):
        data = super().clean()
        if data.get("action") == "override" and data.get("score") is None and "score" not in self.errors:
            self.add_error("score", _("Enter your score to override the proposal."))
        return data


class PolicyForm(forms.Form):
    release_policy = forms.ChoiceField(
        label=_("Release policy"),
        choices=[(ReleasePolicy.REVIEW_ALL, _("Review all")),
                 (ReleasePolicy.AUTO_RELEASE_CONFIDENT, _("Auto-release confident scores"))],
    )  # fmt: skip
    auto_release_max_interval = forms.FloatField(label=_("Widest interval released automatically (points)"),
                                                 min_value=0)  # fmt: skip
    auto_release_min_qwk = forms.FloatField(label=_("Lowest validated model QWK"), min_value=-1, max_value=1)

    def __init__(self, *args, assignment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An interval wider than the whole rubric range would release everything.
        self.fields["auto_release_max_interval"].validators.append(
            MaxValueValidator(assignment.max_score - assignment.min_score)
        )
