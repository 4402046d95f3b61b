"""The fast scorer's stored embedding: which pooling, and old models keep theirs."""

from __future__ import annotations

import numpy as np
import pytest

from grading import api as grading
from grading import serving
from grading.models import GradingModel, SubmissionEmbedding
from tests import factories as f


@pytest.mark.django_db
def test_new_fast_models_train_on_mean_mid_vectors_and_old_mean_keys_still_score(world, make_graded):
    # Given an assignment with graded essays
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    subs = make_graded(assignment, 24, author=world.other_student)

    # When a fast model is trained now
    result = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    record = GradingModel.objects.get(pk=result.model_id)

    # Then it names the two-layer pooling, and its stored vectors are twice the encoder's width
    assert record.embedding_key.split(":")[0].endswith("/mean+mid")
    stored = SubmissionEmbedding.objects.filter(submission__in=subs, encoder_key=record.embedding_key)
    assert stored.count() == 24 and set(stored.values_list("dim", flat=True)) == {768}

    # And a model trained before the pooling existed (a key without one) rebuilds a mean-pooled
    # spec: its own 384-wide vectors are computed and stored under its key, never the new ones.
    old_key = record.embedding_key.replace("/mean+mid", "")
    old_spec = serving._spec_from_key(old_key, "en")
    assert old_spec.pooling == "mean" and old_spec.key == old_key
    found = serving.embeddings_ensure(submission_ids=[subs[0].pk], spec=old_spec)
    assert found[subs[0].pk].shape == (384,)
    new_vec = np.frombuffer(bytes(stored.get(submission=subs[0]).vector), dtype="<f4")
    # the old vector is the first half of the new one (same layer, same pooling); int8 takes its
    # activation scale from the batch, so the two differ a little (one essay alone vs 24)
    assert float(new_vec[:384] * np.sqrt(2.0) @ found[subs[0].pk]) > 0.9
    assert SubmissionEmbedding.objects.filter(submission=subs[0]).count() == 2
