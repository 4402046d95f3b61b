"""Shapes of the review API: input validation (shape and bounds) and output of frozen data.

Input serializers check types, lengths and ranges a client can get wrong; the rubric itself (is
7 a valid score here? is "Voice" a trait of this assignment?) is checked by the service, whose
``ValidationError`` becomes a 400 with the same message.
"""

from __future__ import annotations

from rest_framework import serializers

from eduai.converters import MAX_ID

from ...explain import feedback_text
from ...selectors import MAX_PAGE_SIZE, STATUSES

# Bounds on what a client may send (a rubric has a handful of traits and comments).
MAX_KEYS = 50
MAX_COMMENT = 5000


class QueueQuerySerializer(serializers.Serializer):
    assignment = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only this assignment's work."
    )
    status = serializers.ChoiceField(choices=STATUSES, required=False, default="waiting")
    page = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=25)


class _ReleaseFields(serializers.Serializer):
    revision = serializers.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1,
        help_text="The decision revision you saw (0: undecided). A newer decision makes this a 409, not an overwrite.",
    )  # fmt: skip
    release = serializers.BooleanField(required=False, default=True, help_text="Release to the student now.")
    feedback = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_null=True, default=None, max_length=MAX_KEYS,
        help_text="Keys of the feedback comments to release ('overall', 'trait:<name>'); omit for all of them.",
    )  # fmt: skip
    evidence = serializers.BooleanField(required=False, default=False, help_text="Show the sentence evidence too.")


class AcceptSerializer(_ReleaseFields):
    prediction = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The proposal you accept.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_COMMENT)


class OverrideSerializer(_ReleaseFields):
    score = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)
    trait_scores = serializers.DictField(
        child=serializers.IntegerField(allow_null=True, min_value=-(2**31), max_value=2**31 - 1), required=False,
        default=dict,
    )  # fmt: skip
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_COMMENT)
    model_mistake = serializers.BooleanField(required=False, default=False)
    prediction = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)

    def validate_trait_scores(self, value: dict) -> dict:
        if len(value) > MAX_KEYS:
            raise serializers.ValidationError(f"At most {MAX_KEYS} traits.")
        return value


class ReleaseSerializer(serializers.Serializer):
    feedback = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_null=True, default=None, max_length=MAX_KEYS
    )
    evidence = serializers.BooleanField(required=False, default=False)


class QueueItemSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    assignment_title = serializers.CharField()
    author_id = serializers.IntegerField()
    author_name = serializers.CharField()
    status = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    min_score = serializers.IntegerField()
    max_score = serializers.IntegerField()
    prediction_id = serializers.IntegerField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    proposed_score = serializers.IntegerField(allow_null=True)
    interval_low = serializers.FloatField(allow_null=True)
    interval_high = serializers.FloatField(allow_null=True)
    interval_width = serializers.FloatField(allow_null=True)
    interval_coverage = serializers.FloatField(allow_null=True)
    final_score = serializers.IntegerField(allow_null=True)
    decision = serializers.CharField(help_text="'' waiting, 'accepted', 'overridden', or 'graded' (outside review).")
    released = serializers.BooleanField()
    released_by = serializers.CharField(help_text="'teacher', 'policy' or ''.")


class QueuePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(source="total")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    status = serializers.CharField()
    assignment_id = serializers.IntegerField(allow_null=True)
    results = QueueItemSerializer(source="items", many=True)


class SentenceSerializer(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    delta = serializers.FloatField(allow_null=True, help_text="Rubric points this sentence adds (negative: removes).")
    direction = serializers.CharField()


class ExplanationSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ready, too_short, unavailable")
    method = serializers.CharField()
    base_raw = serializers.FloatField(allow_null=True)
    sentences = SentenceSerializer(many=True)
    reason = serializers.CharField()


class NeighbourSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    similarity = serializers.FloatField()
    score = serializers.IntegerField()
    excerpt = serializers.CharField()


class FeedbackSerializer(serializers.Serializer):
    key = serializers.CharField()
    code = serializers.CharField()
    trait = serializers.CharField()
    score = serializers.IntegerField()
    min_score = serializers.IntegerField()
    max_score = serializers.IntegerField()
    text = serializers.SerializerMethodField()

    def get_text(self, obj) -> str:
        return feedback_text(obj)


class TraitScoreSerializer(serializers.Serializer):
    name = serializers.CharField()
    min_score = serializers.IntegerField()
    max_score = serializers.IntegerField()
    proposed = serializers.IntegerField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    final = serializers.IntegerField(allow_null=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    actor = serializers.CharField()
    score = serializers.IntegerField(allow_null=True)
    previous_score = serializers.IntegerField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    model_mistake = serializers.BooleanField()
    detail = serializers.DictField()
    created_at = serializers.DateTimeField()


class ReviewItemSerializer(serializers.Serializer):
    submission = QueueItemSerializer(source="queue")
    text = serializers.CharField()
    language = serializers.CharField()
    prompt = serializers.CharField()
    traits = TraitScoreSerializer(many=True)
    explanation = ExplanationSerializer(allow_null=True)
    neighbours = NeighbourSerializer(many=True)
    feedback = FeedbackSerializer(many=True)
    events = EventSerializer(many=True)
    revision = serializers.IntegerField()
    model_mistake = serializers.BooleanField()
    teacher_comment = serializers.CharField()


class DecisionResultSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    kind = serializers.CharField()
    score = serializers.IntegerField()
    revision = serializers.IntegerField()
    released = serializers.BooleanField()


class ReleasedGradeSerializer(serializers.Serializer):
    submission_id = serializers.IntegerField()
    assignment_title = serializers.CharField()
    course_id = serializers.IntegerField()
    status = serializers.CharField()
    released = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True)
    min_score = serializers.IntegerField(allow_null=True)
    max_score = serializers.IntegerField(allow_null=True)
    trait_scores = TraitScoreSerializer(many=True)
    feedback = FeedbackSerializer(many=True)
    comment = serializers.CharField()
    evidence = SentenceSerializer(many=True)
    released_at = serializers.DateTimeField(allow_null=True)
    released_by = serializers.CharField()


class AgreementFiguresSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    qwk = serializers.FloatField(allow_null=True)
    exact = serializers.FloatField(allow_null=True)
    adjacent = serializers.FloatField(allow_null=True)
    mean_signed_difference = serializers.FloatField(allow_null=True, help_text="Model minus teacher, rubric points.")


class AssignmentAgreementSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    title = serializers.CharField()
    min_score = serializers.IntegerField()
    max_score = serializers.IntegerField()
    overall = AgreementFiguresSerializer()
    recent = AgreementFiguresSerializer()
    floor = serializers.FloatField()
    below_floor = serializers.BooleanField()


class GroupDifferenceSerializer(serializers.Serializer):
    group = serializers.CharField()
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class DriftFiguresSerializer(serializers.Serializer):
    n_a = serializers.IntegerField()
    n_b = serializers.IntegerField()
    mean_a = serializers.FloatField(allow_null=True)
    mean_b = serializers.FloatField(allow_null=True)
    mean_shift = serializers.FloatField(allow_null=True)
    wasserstein = serializers.FloatField(allow_null=True)
    psi = serializers.FloatField(allow_null=True)


class VersionDriftSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    assignment_title = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    drift = DriftFiguresSerializer()
    paired_n = serializers.IntegerField()
    paired_mean_change = serializers.FloatField(allow_null=True)


class AgreementReportSerializer(serializers.Serializer):
    scope = serializers.CharField()
    scope_id = serializers.IntegerField()
    overall = AgreementFiguresSerializer()
    recent = AgreementFiguresSerializer()
    below_floor = serializers.BooleanField()
    by_assignment = AssignmentAgreementSerializer(many=True)
    by_language_background = GroupDifferenceSerializer(many=True)
    by_length = GroupDifferenceSerializer(many=True)
    drift = VersionDriftSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
