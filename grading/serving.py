"""Scoring submissions: embeddings on arrival, claims, batched prediction, stored proposals.

Contract of ``submissions_score(submission_ids=..., token=...)``:
- each submission is claimed with one conditional UPDATE (``received``/``scored``/``failed`` ->
  ``scoring``, or a ``scoring`` claim held by the same token (a redelivered task after its
  worker died) or abandoned for longer than the lease); a lost race is skipped, never doubled;
- waiting submissions of the same assignment are claimed into the same batch (micro-batching:
  under load one task scores many essays in one forward pass); a redelivered task first takes
  back the waiting ones its dead worker had pulled into its batch under the same token;
- a submission is scored at most once per model version (unique constraint: the violation of
  that one constraint means a racing worker stored it first; any other database error on the
  insert marks the submission ``failed``, never ``scored``), moves ``scoring`` -> ``scored`` with
  a conditional UPDATE, and ``proposal_ready`` is sent after commit when it waits for review;
- an essay that cannot be scored (empty text) is marked ``failed`` with the reason, for good;
  a model failure (an exception, or a non-finite output for an essay) marks those submissions
  ``failed`` with the reason and lists them in ``ScoreBatchResult.retry`` so the task retries them
  with backoff; nothing is lost: every submission ends ``scored`` or ``failed`` with a reason,
  or stays ``received`` while no model serves its assignment. A Celery soft time limit is not
  swallowed: the run stops with ``ScoringCutShort`` (the model failures so far), and the task
  retries them, its own ids and, under the same token, the essays it still holds.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
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


class ScoringCutShort(SoftTimeLimitExceeded):
    """The task's soft time limit struck in the middle of a run.

    ``retry``: the model failures recorded before it (``failed``, meant for another try, which
    the task schedules from here since no result is returned); the essays still in ``scoring``
    stay held by the task's token, which a retry of the same task takes back."""

    def __init__(self, retry: Sequence[int]) -> None:
        super().__init__(f"soft time limit reached; {len(retry)} model failure(s) to retry")
        self.retry = tuple(retry)


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
    *, submission_ids: Sequence[int], spec: EncoderSpec, texts: dict[int, str] | None = None, progress: bool = False
) -> dict[int, np.ndarray]:
    """Stored embeddings of the submissions, computing and storing the missing ones (once each;
    ``progress``: a progress bar while they are computed, for commands)."""
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
        vectors = inference.embed(spec, [texts.get(i, "") for i in missing], progress=progress)
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
def _held_by(token: str) -> Q:
    """The submissions ``token``'s claim holds."""
    return Q(status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token)


def _claim_filter(token: str, model_id: int) -> Q:
    stale_before = timezone.now() - timedelta(seconds=conf.scoring_lease_seconds())
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    return (
        (Q(status__in=CLAIMABLE) & ~Q(already))
        | _held_by(token)
        | Q(status=SubmissionStatus.SCORING, updated_at__lt=stale_before)
    )


def claim(*, submission_ids: Iterable[int], token: str, model_id: int) -> list[int]:
    """Claim the submissions with one conditional UPDATE; returns the ids this token now holds."""
    ids = list(dict.fromkeys(int(i) for i in submission_ids))
    if not ids:
        return []
    now = timezone.now()
    # One UPDATE for the batch: the database checks the condition row by row as it updates (a
    # racing worker's UPDATE waits on the row lock and then re-checks it), so each row is still
    # a conditional claim, at one statement per batch instead of one per essay (profiled: the
    # per-row UPDATEs cost 9 ms of CPU per essay, a third of the int8 encoder's time).
    with transaction.atomic():
        Submission.objects.filter(pk__in=ids).filter(_claim_filter(token, model_id)).update(
            status=SubmissionStatus.SCORING, status_reason=_TOKEN_PREFIX + token, updated_at=now
        )
        won = set(Submission.objects.filter(_held_by(token), pk__in=ids).values_list("id", flat=True))
    return [i for i in ids if i in won]


def _waiting_ids(assignment_id: int, model_id: int, exclude: set[int], limit: int, token: str) -> list[int]:
    """Submissions of the assignment to pull into this task's batch, at most ``limit``.

    First those this token already holds: a redelivered task (same id, same token) carries only
    its own ids, while its dead worker had also claimed waiting essays into the batch; without
    this they would sit in ``scoring`` until the lease ran out. Only the task that claimed them
    has the token, so this never takes a row another live worker holds. Then ``received`` ones
    no prediction of this model version covers yet, oldest first."""
    if limit <= 0:
        return []
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    held = _held_by(token)
    qs = (
        Submission.objects.filter(assignment_id=assignment_id)
        .filter(held | (Q(status=SubmissionStatus.RECEIVED) & ~Q(already)))
        .exclude(pk__in=exclude)
        .order_by(Case(When(held, then=Value(0)), default=Value(1), output_field=IntegerField()), "submitted_at", "id")
        .values_list("id", flat=True)
    )
    return list(qs[:limit])


def _release(ids: Iterable[int], token: str, *, status: str, reason: str) -> None:
    Submission.objects.filter(_held_by(token), pk__in=list(ids)).update(
        status=status, status_reason=reason[:500], updated_at=timezone.now()
    )


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


def _model_output(record: GradingModel, rubric: Rubric, ids: Sequence[int], texts: Sequence[str]) -> np.ndarray:
    """``predictions_for`` checked for shape: one row per essay, one column per rubric head."""
    raw = np.asarray(predictions_for(record, ids, texts), dtype=float)
    heads = len(rubric.heads)
    if raw.ndim != 2 or raw.shape[0] != len(ids) or raw.shape[1] < heads:
        raise ValueError(f"the model gave outputs of shape {raw.shape} for {len(ids)} essays and {heads} heads")
    return raw[:, :heads]


def _prediction(record: GradingModel, rubric: Rubric, sid: int, raw: np.ndarray, seconds: float) -> Prediction:
    """The unsaved prediction row of one submission: rounded score, interval, trait scores."""
    if not np.isfinite(raw[: len(rubric.heads)]).all():
        # Callers drop these first (a model failure); rounding NaN would give -2**63.
        raise ValueError(f"non-finite model output for submission {sid}: {raw!r}")
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


@dataclass
class _Outcome:
    """Where the claimed submissions of one batch ended. A submission a racing worker had
    already scored with this version is in none of the lists (it is ``scored``, not by us)."""

    record: GradingModel
    rubric: Rubric
    token: str
    scored: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # model failures: worth another try

    def fail(self, ids: Sequence[int], reason: str, *, retry: bool) -> None:
        if not ids:
            return
        if retry:  # listed first: a soft time limit between the two must not lose the retry
            self.retry += ids
        _release(ids, self.token, status=SubmissionStatus.FAILED, reason=reason)
        self.failed += [(i, reason[:500]) for i in ids]

    def model_failed(self, ids: Sequence[int], what: str) -> None:
        self.fail(ids, f"model v{self.record.version} failed: {what}", retry=True)


def _store(record: GradingModel, rubric: Rubric, sid: int, raw: np.ndarray, seconds: float, token: str) -> bool:
    """Store one prediction and move its submission to ``scored`` if this token still holds it.

    True: stored. False: a racing worker had stored this version's prediction first, and the
    submission is released as ``scored``. Any other refusal by the database (NOT NULL, CHECK,
    a foreign key, a value out of range) propagates with nothing stored: it must never read as
    "already scored"."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                prediction = _prediction(record, rubric, sid, raw, seconds)
                prediction.save(force_insert=True)
        except IntegrityError:
            # Only uniq_prediction_per_model_version means "stored by another worker", and then
            # that row is visible now: a unique-index insert waits for the racing transaction to
            # commit before it fails (PostgreSQL, read committed), and SQLite has one writer.
            if not Prediction.objects.filter(submission_id=sid, model=record).exists():
                raise
            _release([sid], token, status=SubmissionStatus.SCORED, reason="")
            return False
        moved = (
            Submission.objects.filter(_held_by(token), pk=sid).update(
                status=SubmissionStatus.SCORED, status_reason="", updated_at=timezone.now()
            )
            == 1
        )
        if moved:
            _announce(record, [prediction])
    return True


def _store_one(out: _Outcome, sid: int, raw: np.ndarray, seconds: float) -> None:
    try:
        if _store(out.record, out.rubric, sid, raw, seconds, out.token):
            out.scored.append(sid)
    except (IntegrityError, DataError) as exc:
        log.exception("the database refused the prediction of model %s for submission %s", out.record.pk, sid)
        out.model_failed([sid], f"the database refused its prediction: {type(exc).__name__}: {exc}")


def _store_many(out: _Outcome, rows: Sequence[tuple[int, np.ndarray]], seconds: float) -> None:
    """``_store`` for a batch: one INSERT and one UPDATE instead of three statements per essay.

    A racing worker that stored one of these first makes the INSERT fail as a whole (so does any
    row the database refuses); then the batch falls back to ``_store`` row by row, which skips
    exactly the duplicates and fails exactly the refused rows."""
    record, token = out.record, out.token
    predictions = [_prediction(record, out.rubric, sid, raw, seconds) for sid, raw in rows]
    if not predictions:
        return
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
            held = Submission.objects.filter(_held_by(token), pk__in=[p.submission_id for p in created])
            # Locked until commit (PostgreSQL), so the UPDATE below moves exactly these rows.
            mine = set(held.select_for_update().values_list("id", flat=True))
            held.filter(pk__in=mine).update(status=SubmissionStatus.SCORED, status_reason="", updated_at=timezone.now())
            _announce(record, [p for p in created if p.submission_id in mine])
    except (IntegrityError, DataError):
        for sid, raw in rows:
            _store_one(out, sid, raw, seconds)
    else:
        out.scored += [p.submission_id for p in created]


def _store_finite(out: _Outcome, ids: Sequence[int], raw: np.ndarray, seconds: float) -> None:
    """Store the rows the model gave finite outputs for; a NaN or inf (any head) is a model
    failure of that essay: ``failed`` with the reason and retried, never stored."""
    finite = np.isfinite(raw).all(axis=1)
    bad = [sid for k, sid in enumerate(ids) if not finite[k]]
    out.fail(bad, f"model v{out.record.version} gave a non-finite score", retry=True)
    _store_many(out, [(sid, raw[k]) for k, sid in enumerate(ids) if finite[k]], seconds)


def submissions_score(
    *, submission_ids: Sequence[int], token: str | None = None, batch_limit: int | None = None, pull: bool = True
) -> ScoreBatchResult:
    """Score the given submissions (and, with ``pull``, waiting ones of their assignments) with
    the serving models."""
    started = time.perf_counter()
    token = token or uuid.uuid4().hex
    limit = batch_limit or conf.scoring_batch()
    ids = list(dict.fromkeys(int(i) for i in submission_ids))
    by_assignment: dict[int, list[int]] = defaultdict(list)
    for sid, aid in Submission.objects.filter(pk__in=ids).values_list("id", "assignment_id"):
        by_assignment[aid].append(sid)
    scored: list[int] = []
    failed: list[tuple[int, str]] = []
    retry: list[int] = []
    skipped: list[int] = [i for i in ids if not any(i in v for v in by_assignment.values())]
    waiting: list[int] = []
    try:
        for assignment_id, wanted in by_assignment.items():
            record = serving_model(assignment_id)
            if record is None:
                waiting.extend(_embed_waiting(assignment_id, wanted))
                continue
            mine = claim(submission_ids=wanted, token=token, model_id=record.pk)
            skipped.extend(i for i in wanted if i not in mine)
            extra = _waiting_ids(assignment_id, record.pk, set(wanted), limit - len(mine), token) if pull else []
            mine += claim(submission_ids=extra, token=token, model_id=record.pk)
            if not mine:
                continue
            s, f, _ = _score_claimed(record, mine, token, retry)  # model failures land in retry
            scored += s
            failed += f
    except SoftTimeLimitExceeded as exc:
        # The failures so far must still be retried: the task only sees them through this.
        raise ScoringCutShort(retry) from exc
    return ScoreBatchResult(
        scored=tuple(scored),
        failed=tuple(failed),
        skipped=tuple(skipped),
        waiting=tuple(waiting),
        seconds=time.perf_counter() - started,
        retry=tuple(retry),
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
        except SoftTimeLimitExceeded:
            raise
        except Exception:  # an embedding is an optimisation here; training computes any missing one
            log.exception("could not embed submissions %s of assignment %s", list(texts), assignment_id)
    return [sid for sid, _, _ in rows]


def _score_claimed(
    record: GradingModel, ids: list[int], token: str, retry: list[int] | None = None
) -> tuple[list[int], list[tuple[int, str]], list[int]]:
    """Score the submissions this token holds: (scored, failed with reasons, worth retrying).

    ``retry``: a list the model failures are appended to as they happen (so they are known even
    if a soft time limit cuts the run short); returned as the third item."""
    texts = dict(Submission.objects.filter(pk__in=ids).values_list("id", "text"))
    out = _Outcome(record=record, rubric=rubric_of(record), token=token, retry=[] if retry is None else retry)
    good: list[int] = []
    for sid in ids:
        try:
            _check_text(texts.get(sid, ""))
            good.append(sid)
        except ScoringError as exc:
            out.fail([sid], f"cannot score: {exc}", retry=False)
    if good:
        batch_start = time.perf_counter()
        try:
            raw = _model_output(record, out.rubric, good, [texts[i] for i in good])
        except SoftTimeLimitExceeded:
            # Not a model failure: the task is out of time (the hard kill follows within a
            # minute), so starting the essays again one by one would only be cut off. The claims
            # stay in ``scoring``; the task's retry (same token) takes them back.
            raise
        except Exception as exc:
            log.exception("model %s failed on a batch of %d submissions", record.pk, len(good))
            if len(good) > 1:
                # Isolate: score one by one, so one essay that breaks the model cannot fail the rest.
                _score_one_by_one(out, good, texts)
            else:
                out.model_failed(good, f"{type(exc).__name__}: {exc}")
        else:
            _store_finite(out, good, raw, (time.perf_counter() - batch_start) / len(good))
    return out.scored, out.failed, out.retry


def _score_one_by_one(out: _Outcome, ids: Sequence[int], texts: dict[int, str]) -> None:
    for sid in ids:
        start = time.perf_counter()
        try:
            raw = _model_output(out.record, out.rubric, [sid], [texts[sid]])
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            out.model_failed([sid], f"{type(exc).__name__}: {exc}")
            continue
        _store_finite(out, [sid], raw, time.perf_counter() - start)


def submissions_waiting(*, assignment_id: int, model_id: int) -> list[int]:
    """Submissions of the assignment the serving model should (re)score: not teacher-graded yet."""
    already = Exists(Prediction.objects.filter(submission=OuterRef("pk"), model_id=model_id))
    return list(
        Submission.objects.filter(assignment_id=assignment_id, status__in=CLAIMABLE)
        .filter(~Q(already))
        .order_by("submitted_at", "id")
        .values_list("id", flat=True)
    )


def assignment_score(*, assignment_id: int, batch_size: int | None = None, progress: bool = False) -> ScoreBatchResult:
    """Score, in this process, every submission of the assignment its serving model has not
    scored yet (``submissions_waiting``), batch by batch (the ``score_grader`` command).

    Each batch is stored as it is scored, through ``submissions_score`` (the claims, the
    exactly-once rule and the failure handling of the workers). ``progress``: a bar with the
    rate and the time left. Interrupted (Ctrl-C), the essays this run still holds are put back at
    once where they were before it claimed them (``received``, ``scored`` by an older model, or
    ``failed`` with the reason), instead of waiting in ``scoring`` for the lease; what was stored
    stays. ValueError: no model serves."""
    record = serving_model(assignment_id)
    if record is None:
        raise ValueError(f"no model serves assignment {assignment_id}: train one first")
    ids = submissions_waiting(assignment_id=assignment_id, model_id=record.pk)
    size = max(1, batch_size or conf.scoring_batch())
    token = uuid.uuid4().hex
    started = time.perf_counter()
    parts: list[ScoreBatchResult] = []
    from tqdm import tqdm

    bar = tqdm(total=len(ids), unit="essay", desc=f"score assignment {assignment_id}", disable=not progress)
    before: dict[int, tuple[str, str]] = {}
    try:
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            # Where each essay of the batch stands before it is claimed, to put it back on Ctrl-C.
            before = {
                sid: (status, reason)
                for sid, status, reason in Submission.objects.filter(pk__in=chunk).values_list(
                    "id", "status", "status_reason"
                )
            }
            # No pulling of other waiting essays: they are later batches of this same run.
            parts.append(submissions_score(submission_ids=chunk, token=token, batch_limit=len(chunk), pull=False))
            bar.update(len(chunk))
    except BaseException:
        _hand_back(token, before)
        raise
    finally:
        bar.close()
    return ScoreBatchResult(
        scored=tuple(i for p in parts for i in p.scored),
        failed=tuple(f for p in parts for f in p.failed),
        skipped=tuple(i for p in parts for i in p.skipped),
        waiting=tuple(i for p in parts for i in p.waiting),
        seconds=time.perf_counter() - started,
        retry=tuple(i for p in parts for i in p.retry),
    )


def _hand_back(token: str, before: dict[int, tuple[str, str]]) -> None:
    """Put what ``token`` still holds back where it was before the claim (``before``: status and
    reason by id; ``received`` for any other)."""
    held = Submission.objects.filter(_held_by(token)).values_list("id", flat=True)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for sid in held:
        status, reason = before.get(sid, (SubmissionStatus.RECEIVED, ""))
        if status == SubmissionStatus.SCORING:  # held by an abandoned claim then: now waiting
            status, reason = SubmissionStatus.RECEIVED, ""
        groups[(status, reason)].append(sid)
    for (status, reason), ids in groups.items():
        _release(ids, token, status=status, reason=reason)


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
