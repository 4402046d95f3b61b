"""Scoring submissions: embeddings on arrival, claims, batched prediction, stored proposals.

Contract of ``submissions_score(submission_ids=..., token=...)``:
- each submission is claimed with one conditional UPDATE (``received``/``scored``/``failed`` ->
  ``scoring``, or a ``scoring`` claim held by the same token (a redelivered task after its
  worker died) or abandoned for longer than the lease); a lost race is skipped, never doubled;
- waiting submissions of the same assignment are claimed into the same batch (micro-batching:
  under load one task scores many essays in one forward pass);
- a submission is scored at most once per model version (unique constraint; an IntegrityError
  from a racing worker is swallowed), moves ``scoring`` -> ``scored`` with a conditional UPDATE,
  and ``proposal_ready`` is sent after commit when it waits for review;
- an essay that cannot be scored (empty text) is marked ``failed`` with the reason, for good;
  a model failure marks the batch ``failed`` with the reason and reports ``retryable`` so the
  task retries with backoff; nothing is lost: every submission ends ``scored`` or ``failed``
  with a reason, or stays ``received`` while no model serves its assignment.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from eduai import inference
from eduai.courses.models import Submission, SubmissionStatus
from eduai.inference.cache import MODEL_CACHE
from eduai.inference.spec import EncoderSpec, has_encoder_for, pooling_of_key

from . import conf
from .data import ScoreBatchResult
from .models import GradingModel, Method, Prediction, SubmissionEmbedding
from .scoring.base import Rubric, interval, round_to_rubric
from .signals import proposal_ready

log = logging.getLogger(__name__)

CLAIMABLE = (SubmissionStatus.RECEIVED, SubmissionStatus.SCORED, SubmissionStatus.FAILED)
_TOKEN_PREFIX = "claim:"
# The stored embedding the fast scorer trains on: the last layer's mean and an intermediate
# layer's, from one forward pass (eduai/inference/encoder.py; chosen on ASAP validation folds).
# Models trained on older mean-only keys keep their own embeddings (the key names the pooling).
FAST_POOLING = "mean+mid"


class ScoringError(Exception):
    """A submission cannot be scored, whatever model runs (bad input)."""


# ----------------------------------------------------------------------------- embeddings
def _spec_from_key(key: str, language: str) -> EncoderSpec:
    """Rebuild the spec of a stored key (the path from settings; length and precision from the key)."""
    _, length, precision = key.rsplit(":", 2)
    spec = inference.encoder_spec(
        language=language, max_length=int(length[1:]), precision=precision, pooling=pooling_of_key(key)
    )
    if spec.key != key:
        raise RuntimeError(
            f"the model was trained on embeddings {key!r}, but this worker's encoder gives {spec.key!r}; "
            "point EDUAI_ENCODER_PATH at the same folder or retrain the assignment's model"
        )
    return spec


def default_spec(language: str) -> EncoderSpec | None:
    """The encoder that embeds new submissions of ``language`` (None: no encoder reads it)."""
    if not has_encoder_for(language):
        return None
    return inference.encoder_spec(language=language, pooling=FAST_POOLING)


def embeddings_ensure(
    *, submission_ids: Sequence[int], spec: EncoderSpec, texts: dict[int, str] | None = None
) -> dict[int, np.ndarray]:
    """Stored embeddings of the submissions, computing and storing the missing ones (once each)."""
    ids = list(dict.fromkeys(int(i) for i in submission_ids))
    found: dict[int, np.ndarray] = {}
    for sid, dim, blob in SubmissionEmbedding.objects.filter(submission_id__in=ids, encoder_key=spec.key).values_list(
        "submission_id", "dim", "vector"
    ):
        found[sid] = np.frombuffer(bytes(blob), dtype="<f4", count=dim).copy()
    missing = [i for i in ids if i not in found]
    if missing:
        if texts is None or any(i not in texts for i in missing):
            texts = {**(texts or {}), **dict(Submission.objects.filter(pk__in=missing).values_list("id", "text"))}
        vectors = inference.embed(spec, [texts.get(i, "") for i in missing])
        rows = [
            SubmissionEmbedding(
                submission_id=i, encoder_key=spec.key, dim=vectors.shape[1], vector=vectors[k].astype("<f4").tobytes()
            )
            for k, i in enumerate(missing)
            if i in texts
        ]
        # A racing worker may have stored some of them meanwhile: same encoder, same vector.
        SubmissionEmbedding.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        for k, i in enumerate(missing):
            found[i] = vectors[k]
    return found


# --------------------------------------------------------------------------- loaded models
class LoadedModel:
    """A registry record's scorer, loaded once per process (``MODEL_CACHE``)."""

    def __init__(self, record: GradingModel) -> None:
        from .scoring import load_scorer

        self.id = record.pk
        self.method = record.method
        self.language = record.language
        self.embedding_key = record.embedding_key
        self.path = Path(settings.EDUAI_MODEL_ROOT) / record.artefact
        self.scorer = load_scorer(record.method, self.path)

    def predict(self, submission_ids: Sequence[int], texts: Sequence[str]) -> np.ndarray:
        embeddings = None
        if self.method == Method.FAST and self.embedding_key:
            spec = _spec_from_key(self.embedding_key, self.language)
            found = embeddings_ensure(
                submission_ids=submission_ids, spec=spec, texts=dict(zip(submission_ids, texts, strict=True))
            )
            embeddings = np.stack([found[i] for i in submission_ids])
        return self.scorer.predict(list(texts), embeddings)


def loaded_model(record: GradingModel) -> LoadedModel:
    return MODEL_CACHE.get(("grading", record.pk, record.artefact), lambda: LoadedModel(record))


def rubric_of(record: GradingModel) -> Rubric:
    from .scoring import rubric_from_hyperparameters

    return rubric_from_hyperparameters(record.hyperparameters)


# -------------------------------------------------------------------------------- claims
def _claim_filter(token: str, model_id: int) -> Q:
    stale_before = timezone.now() - timedelta(seconds=conf.scoring_lease_seconds())
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    return (
        (Q(status__in=CLAIMABLE) & ~Q(already))
        | Q(status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token)
        | Q(status=SubmissionStatus.SCORING, updated_at__lt=stale_before)
    )


def claim(*, submission_ids: Iterable[int], token: str, model_id: int) -> list[int]:
    """Claim the submissions with one conditional UPDATE; returns the ids this token now holds."""
    ids = list(dict.fromkeys(int(i) for i in submission_ids))
    if not ids:
        return []
    now = timezone.now()
    held = Q(status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token)
    # One UPDATE for the batch: the database checks the condition row by row as it updates (a
    # racing worker's UPDATE waits on the row lock and then re-checks it), so each row is still
    # a conditional claim, at one statement per batch instead of one per essay (profiled: the
    # per-row UPDATEs cost 9 ms of CPU per essay, a third of the int8 encoder's time).
    with transaction.atomic():
        Submission.objects.filter(pk__in=ids).filter(_claim_filter(token, model_id)).update(
            status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token, updated_at=now
        )
        won = set(Submission.objects.filter(held, pk__in=ids).values_list("id", flat=True))
    return [i for i in ids if i in won]


def _waiting_ids(assignment_id: int, model_id: int, exclude: set[int], limit: int) -> list[int]:
    if limit <= 0:
        return []
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    qs = (
        Submission.objects.filter(assignment_id=assignment_id, status=SubmissionStatus.RECEIVED)
        .exclude(pk__in=exclude)
        .filter(~Q(already))
        .order_by("submitted_at", "id")
        .values_list("id", flat=True)
    )
    return list(qs[:limit])


def _release(ids: Iterable[int], token: str, *, status: str, reason: str) -> None:
    Submission.objects.filter(
        pk__in=list(ids), status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token
    ).update(status=status, status_reason=reason[:500], updated_at=timezone.now())


def serving_model(assignment_id: int) -> GradingModel | None:
    return GradingModel.objects.filter(assignment_id=assignment_id, is_active=True).first()


# ------------------------------------------------------------------------------- scoring
_WORD_CHAR = re.compile(r"\w")


def _check_text(text: str) -> None:
    """Refuse what no model can score. Anything else is scored as plain text: markup and odd
    characters count as characters (the features see them), and an essay longer than the
    encoder's budget keeps its head and tail there (eduai/inference/encoder.py)."""
    if not isinstance(text, str) or not text.strip():
        raise ScoringError("empty text: there is nothing to score")
    if not _WORD_CHAR.search(text):
        raise ScoringError("no words: the text has no letters or digits to score")


def predictions_for(record: GradingModel, submission_ids: Sequence[int], texts: Sequence[str]) -> np.ndarray:
    """Raw predictions (n, heads) of ``record`` for these texts (no database writes but embeddings)."""
    return loaded_model(record).predict(list(submission_ids), list(texts))


def _prediction(record: GradingModel, rubric: Rubric, sid: int, raw: np.ndarray, seconds: float) -> Prediction:
    """The unsaved prediction row of one submission: rounded score, interval, trait scores."""
    coverage = float(record.interval_coverage or conf.coverage())
    radius = record.interval_halfwidth if record.interval_halfwidth is not None else math.inf
    low, high = interval(np.array([raw[0]]), radius, rubric.min_score, rubric.max_score, rubric.step)
    traits: dict[str, dict[str, float]] = {}
    trait_radius = {k: (v or {}).get("halfwidth") for k, v in (record.trait_metrics or {}).items()}
    for h, trait in enumerate(rubric.traits, start=1):
        r = trait_radius.get(trait.name)
        tl, th = interval(np.array([raw[h]]), math.inf if r is None else float(r), trait.min_score, trait.max_score)
        traits[trait.name] = {
            "score": int(round_to_rubric(raw[h], trait.min_score, trait.max_score)),
            "raw": float(raw[h]),
            "low": float(tl[0]),
            "high": float(th[0]),
        }
    return Prediction(
        submission_id=sid,
        model=record,
        score=int(round_to_rubric(raw[0], rubric.min_score, rubric.max_score, rubric.step)),
        raw_score=float(raw[0]),
        trait_scores=traits,
        interval_low=float(low[0]),
        interval_high=float(high[0]),
        interval_coverage=coverage,
        seconds=float(seconds),
    )


def _announce(record: GradingModel, predictions: Sequence[Prediction]) -> None:
    """Send ``proposal_ready`` for each prediction once the transaction commits."""
    aid, cid = record.assignment_id, record.assignment.course_id

    def send(sid: int, pid: int) -> None:
        proposal_ready.send(sender=Prediction, submission_id=sid, prediction_id=pid, assignment_id=aid, course_id=cid)

    for p in predictions:
        transaction.on_commit(partial(send, p.submission_id, p.pk))


def _store(record: GradingModel, rubric: Rubric, sid: int, raw: np.ndarray, seconds: float, token: str) -> bool:
    """Store one prediction and move its submission to ``scored`` if this token still holds it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                prediction = _prediction(record, rubric, sid, raw, seconds)
                prediction.save(force_insert=True)
        except IntegrityError:
            # Another worker stored this version's prediction first: ours is the duplicate.
            _release([sid], token, status=SubmissionStatus.SCORED, reason="")
            return False
        moved = (
            Submission.objects.filter(
                pk=sid, status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token
            ).update(status=SubmissionStatus.SCORED, status_reason="", updated_at=timezone.now())
            == 1
        )
        if moved:
            _announce(record, [prediction])
    return True


def _store_many(
    record: GradingModel, rubric: Rubric, rows: Sequence[tuple[int, np.ndarray]], seconds: float, token: str
) -> list[int]:
    """``_store`` for a batch: one INSERT and one UPDATE instead of three statements per essay.

    A racing worker that stored one of these first makes the INSERT fail as a whole; then the
    batch falls back to ``_store`` row by row, which skips exactly the duplicates."""
    predictions = [_prediction(record, rubric, sid, raw, seconds) for sid, raw in rows]
    if not predictions:
        return []
    try:
        with transaction.atomic():
            created = Prediction.objects.bulk_create(predictions)
            if any(p.pk is None for p in created):  # a backend that cannot return ids from bulk inserts
                pks = dict(
                    Prediction.objects.filter(
                        model=record, submission_id__in=[p.submission_id for p in created]
                    ).values_list("submission_id", "id")
                )
                for p in created:
                    p.pk = pks[p.submission_id]
            held = Submission.objects.filter(
                pk__in=[p.submission_id for p in created],
                status=SubmissionStatus.SCORING,
                status_reason=_TOKEN_PREFIX + token,
            )
            # Locked until commit (PostgreSQL), so the UPDATE below moves exactly these rows.
            mine = set(held.select_for_update().values_list("id", flat=True))
            held.filter(pk__in=mine).update(status=SubmissionStatus.SCORED, status_reason="", updated_at=timezone.now())
            _announce(record, [p for p in created if p.submission_id in mine])
            return [p.submission_id for p in created]
    except IntegrityError:
        return [sid for sid, raw in rows if _store(record, rubric, sid, raw, seconds, token)]


def submissions_score(
    *, submission_ids: Sequence[int], token: str | None = None, batch_limit: int | None = None
) -> ScoreBatchResult:
    """Score the given submissions (and waiting ones of their assignments) with the serving models."""
    started = time.perf_counter()
    token = token or uuid.uuid4().hex
    limit = batch_limit or conf.scoring_batch()
    ids = list(dict.fromkeys(int(i) for i in submission_ids))
    by_assignment: dict[int, list[int]] = defaultdict(list)
    for sid, aid in Submission.objects.filter(pk__in=ids).values_list("id", "assignment_id"):
        by_assignment[aid].append(sid)
    scored: list[int] = []
    failed: list[tuple[int, str]] = []
    skipped: list[int] = [i for i in ids if not any(i in v for v in by_assignment.values())]
    waiting: list[int] = []
    retryable = False
    for assignment_id, wanted in by_assignment.items():
        record = serving_model(assignment_id)
        if record is None:
            waiting.extend(_embed_waiting(assignment_id, wanted))
            continue
        mine = claim(submission_ids=wanted, token=token, model_id=record.pk)
        skipped.extend(i for i in wanted if i not in mine)
        extra = _waiting_ids(assignment_id, record.pk, set(mine), limit - len(mine))
        mine += claim(submission_ids=extra, token=token, model_id=record.pk)
        if not mine:
            continue
        s, f, r = _score_claimed(record, mine, token)
        scored += s
        failed += f
        retryable = retryable or r
    return ScoreBatchResult(
        scored=tuple(scored),
        failed=tuple(failed),
        skipped=tuple(skipped),
        waiting=tuple(waiting),
        retryable=retryable,
        seconds=time.perf_counter() - started,
    )


def _embed_waiting(assignment_id: int, ids: list[int]) -> list[int]:
    """No model yet: store the embeddings now, so the first training run finds them ready."""
    rows = list(Submission.objects.filter(pk__in=ids).values_list("id", "text", "language"))
    by_lang: dict[str, dict[int, str]] = defaultdict(dict)
    for sid, text, language in rows:
        by_lang[language or "en"][sid] = text
    for language, texts in by_lang.items():
        spec = default_spec(language)
        if spec is None:
            continue
        try:
            embeddings_ensure(submission_ids=list(texts), spec=spec, texts=texts)
        except Exception:  # an embedding is an optimisation here; training computes any missing one
            log.exception("could not embed submissions %s of assignment %s", list(texts), assignment_id)
    return [sid for sid, _, _ in rows]


def _score_claimed(record: GradingModel, ids: list[int], token: str) -> tuple[list[int], list[tuple[int, str]], bool]:
    texts = dict(Submission.objects.filter(pk__in=ids).values_list("id", "text"))
    rubric = rubric_of(record)
    failed: list[tuple[int, str]] = []
    good: list[int] = []
    for sid in ids:
        try:
            _check_text(texts.get(sid, ""))
            good.append(sid)
        except ScoringError as exc:
            failed.append((sid, str(exc)))
            _release([sid], token, status=SubmissionStatus.FAILED, reason=f"cannot score: {exc}")
    if not good:
        return [], failed, False
    batch_start = time.perf_counter()
    try:
        raw = predictions_for(record, good, [texts[i] for i in good])
    except Exception as exc:
        log.exception("model %s failed on a batch of %d submissions", record.pk, len(good))
        if len(good) > 1:
            # Isolate: score one by one, so one essay that breaks the model cannot fail the rest.
            return _score_one_by_one(record, rubric, good, texts, token, failed)
        reason = f"model v{record.version} failed: {type(exc).__name__}: {exc}"
        _release(good, token, status=SubmissionStatus.FAILED, reason=reason)
        return [], [*failed, (good[0], reason)], True
    per_item = (time.perf_counter() - batch_start) / len(good)
    scored = _store_many(record, rubric, [(sid, raw[k]) for k, sid in enumerate(good)], per_item, token)
    return scored, failed, False


def _score_one_by_one(record, rubric, ids, texts, token, failed):
    scored: list[int] = []
    retry = False
    for sid in ids:
        start = time.perf_counter()
        try:
            raw = predictions_for(record, [sid], [texts[sid]])
        except Exception as exc:
            reason = f"model v{record.version} failed: {type(exc).__name__}: {exc}"
            _release([sid], token, status=SubmissionStatus.FAILED, reason=reason)
            failed.append((sid, reason))
            retry = True
            continue
        if _store(record, rubric, sid, raw[0], time.perf_counter() - start, token):
            scored.append(sid)
    return scored, failed, retry


def submissions_waiting(*, assignment_id: int, model_id: int) -> list[int]:
    """Submissions of the assignment the serving model should (re)score: not teacher-graded yet."""
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    return list(
        Submission.objects.filter(assignment_id=assignment_id, status__in=CLAIMABLE)
        .filter(~Q(already))
        .order_by("submitted_at", "id")
        .values_list("id", flat=True)
    )


def stuck_submissions(*, older_than_seconds: int | None = None) -> list[int]:
    """Submissions a lost task left behind: ``received`` with a serving model, or abandoned ``scoring``."""
    lease = older_than_seconds if older_than_seconds is not None else conf.scoring_lease_seconds()
    cutoff = timezone.now() - timedelta(seconds=lease)
    served = GradingModel.objects.filter(assignment_id=OuterRef("assignment_id"), is_active=True)
    received = Submission.objects.filter(status=SubmissionStatus.RECEIVED, updated_at__lt=cutoff).filter(Exists(served))
    abandoned = Submission.objects.filter(status=SubmissionStatus.SCORING, updated_at__lt=cutoff)
    return sorted(set(received.values_list("id", flat=True)) | set(abandoned.values_list("id", flat=True)))


def embed_default(*, submission_ids: Sequence[int]) -> int:
    """Store the default-encoder embeddings of these submissions (grouped by language)."""
    rows = list(Submission.objects.filter(pk__in=list(submission_ids)).values_list("id", "text", "language"))
    by_lang: dict[str, dict[int, str]] = defaultdict(dict)
    for sid, text, language in rows:
        by_lang[language or "en"][sid] = text
    done = 0
    for language, texts in by_lang.items():
        spec = default_spec(language)
        if spec is not None:
            done += len(embeddings_ensure(submission_ids=list(texts), spec=spec, texts=texts))
    return done
