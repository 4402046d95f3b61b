"""Training a scorer for an assignment, registering it, and deciding whether it serves.

Contract of ``model_train(assignment_id=..., method=...)``:
1. reads the assignment's teacher-graded submissions (the training data) and splits them by a
   stable hash of the submission id into training and validation essays (``validation_mask``);
2. creates the next registry version (status ``training``), fits the scorer into a temporary
   folder under ``EDUAI_MODEL_ROOT/.tmp`` and renames it into place only when complete (a run
   that fails or is interrupted, Ctrl-C included, marks the record ``failed`` and keeps no
   artefact, not even one renamed before the record's save failed; a killed run's temporary
   folder is removed by the sweep, ``training_runs_abandon``);
3. measures validation QWK, RMSE and the conformal radius for the stated coverage, per head:
   split-conformal on the validation essays, except for a fast scorer trained on fewer than
   ``CV_CONFORMAL_BELOW`` essays, whose radius comes from 5-fold out-of-fold residuals over all
   labelled essays (a radius from ~10 held-out residuals jumps from one assignment to the next);
4. activates the new model only if it beats the serving one on the same validation essays
   (the serving model re-scored on the new model's validation essays minus any it trained on),
   and only if the assignment's serving knob allows its method; then enqueues (after commit)
   the scoring of the assignment's submissions that wait for a proposal.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX (Windows): runs take no lock (_hold, _remove_if_dead)
    fcntl = None  # type: ignore[assignment]

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import Submission

from . import conf
from .data import TrainResult
from .models import GraderSettings, GradingModel, Method, ModelStatus, ServingChoice, TeacherGrade
from .scoring import rubric_to_hyperparameters
from .scoring.base import Range, Rubric, TrainingSet, conformal_radius, qwk, stable_fraction, validation_mask

log = logging.getLogger(__name__)

TRAIN_IDS_FILE = "train_ids.json"
# Below this many labelled essays the fast scorer's conformal radius comes from cross-validated
# residuals over all of them (CV_FOLDS folds, each fitted like the served model) instead of the
# 20% validation hold-out. ASAP, 50 grades a prompt: coverage at a stated 0.90 ranged 0.69-0.99
# with the hold-out radius (10 residuals). At 250+ essays the hold-out has 50+ residuals.
CV_CONFORMAL_BELOW = 250
CV_FOLDS = 5


# --------------------------------------------------------------------------------- inputs
def rubric_for(assignment_id: int) -> Rubric:
    a = courses.assignment_data(assignment_id=assignment_id)
    return Rubric(
        min_score=a.min_score,
        max_score=a.max_score,
        traits=tuple(Range(t.name, t.min_score, t.max_score) for t in a.traits),
    )


def training_set(assignment_id: int) -> TrainingSet:
    """The assignment's teacher-graded essays, ordered by submission id (deterministic)."""
    rubric = rubric_for(assignment_id)
    rows = list(
        TeacherGrade.objects.filter(assignment_id=assignment_id)
        .order_by("submission_id")
        .values_list("submission_id", "submission__text", "submission__language", "score", "trait_scores")
    )
    heads = rubric.heads
    targets = np.full((len(rows), len(heads)), np.nan, dtype=np.float64)
    for i, (_, _, _, score, traits) in enumerate(rows):
        targets[i, 0] = score
        for h, trait in enumerate(rubric.traits, start=1):
            value = (traits or {}).get(trait.name)
            if value is not None:
                targets[i, h] = float(value)
    language = _language_of([(text, lang) for _, text, lang, _, _ in rows], assignment_id)
    ids = tuple(r[0] for r in rows)
    return TrainingSet(
        ids=ids,
        texts=tuple(r[1] for r in rows),
        targets=targets,
        rubric=rubric,
        language=language,
        weights=sample_weights(assignment_id, ids),
    )


# Apps built on grading that weight training essays register here (in their AppConfig.ready):
# callables (assignment_id) -> {submission_id: weight}; unlisted essays weigh 1. The review
# loop weights up essays whose proposal a teacher marked as a model mistake. Used by the fast
# scorer; the fine-tuned scorer trains unweighted.
sample_weight_providers: list = []


def sample_weights(assignment_id: int, ids: tuple[int, ...]) -> np.ndarray | None:
    merged: dict[int, float] = {}
    for provider in sample_weight_providers:
        merged.update(provider(assignment_id))
    if not merged:
        return None
    return np.array([max(1e-6, float(merged.get(i, 1.0))) for i in ids], dtype=np.float64)


def _language_of(rows: list[tuple[str, str]], assignment_id: int) -> str:
    """Majority language of the essays (each detected when not stored); the assignment's if none."""
    votes = Counter((lang or courses.detect_language(text)) for text, lang in rows)
    if votes:
        return "zh" if votes.get("zh", 0) > sum(votes.values()) / 2 else "en"
    return courses.assignment_data(assignment_id=assignment_id).language or "en"


def unlabelled_texts(assignment_id: int, limit: int = 5000) -> list[str]:
    """Texts of the course's submissions (graded or not) for domain-adaptive pretraining."""
    course_id = courses.assignment_data(assignment_id=assignment_id).course_id
    qs = Submission.objects.filter(assignment__course_id=course_id).order_by("-submitted_at")
    return [t for t in qs.values_list("text", flat=True)[:limit] if t and t.strip()]


# ------------------------------------------------------------------------------- registry
def _model_root() -> Path:
    root = Path(settings.EDUAI_MODEL_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _new_record(
    *, assignment_id: int, method: str, language: str, trigger: str, requested_by_id: int | None
) -> GradingModel:
    for _ in range(5):
        try:
            with transaction.atomic():
                last = GradingModel.objects.filter(assignment_id=assignment_id).aggregate(v=Max("version"))["v"] or 0
                return GradingModel.objects.create(
                    assignment_id=assignment_id,
                    version=last + 1,
                    method=method,
                    language=language,
                    trigger=trigger[:40],
                    requested_by_id=requested_by_id,
                )
        except IntegrityError:  # a concurrent run took that version number
            continue
    raise RuntimeError("could not allocate a model version (too many concurrent training runs)")


# A run works in EDUAI_MODEL_ROOT/.tmp/a<assignment>-v<version>-<random>/ and holds an exclusive
# flock on the folder's LOCK_FILE while it lives. The kernel drops the lock however the process
# ends (SIGKILL, a Celery hard time limit, Ctrl-C), so a folder whose lock the sweep can take
# belongs to no live run: flock, not lockf, because lockf locks of one process never conflict
# and a demo server runs training in a thread of the process that may run the sweep.
LOCK_FILE = ".lock"
_TMP_NAME = re.compile(r"a(\d+)-v(\d+)-")


def _tmp_prefix(assignment_id: int, version: int) -> str:
    return f"a{assignment_id}-v{version}-"


def _hold(folder: Path) -> int | None:
    if fcntl is None:  # not POSIX: no lock, and the sweep removes no folder (_remove_if_dead)
        return None
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a new file in a new folder: nobody else holds it
    except OSError:
        # A model root without locks (some network filesystems): train anyway; the sweep cannot
        # take this lock either, so it leaves the folder alone (_remove_if_dead).
        log.warning("no file lock on %s: the sweep will not remove this run's folder", folder)
        os.close(fd)
        return None
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _remove_if_dead(folder: Path) -> bool:
    if fcntl is None:
        return False
    try:
        fd: int | None = os.open(folder / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        fd = None  # left by a run from before runs took the lock, or just removed by its run
    except OSError:
        return False
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # alive: e.g. a `train_grader` run longer than the task's time limit
            except OSError:
                return False  # no locks on this filesystem: cannot tell a live run, so keep it
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    finally:
        _release(fd)


def training_runs_abandon(*, older_than: datetime) -> int:
    """Mark runs still ``training`` that started before ``older_than`` failed (their worker died or
    passed its hard time limit), then remove the temporary folders dead runs left behind
    (``temp_folders_remove``). Returns the number of runs marked failed."""
    abandoned = GradingModel.objects.filter(status=ModelStatus.TRAINING, created_at__lt=older_than).update(
        status=ModelStatus.FAILED, failure_reason="abandoned: the training worker stopped without finishing"
    )
    temp_folders_remove()
    return abandoned


def temp_folders_remove() -> list[str]:
    """Remove the temporary folders under ``EDUAI_MODEL_ROOT/.tmp`` of runs that are over (their
    record is no longer ``training``, or is gone) and whose process is dead (the folder's lock is
    free). A killed fine-tune leaves ~90 MB there. Returns the names of the folders removed."""
    try:
        folders = [p for p in (Path(settings.EDUAI_MODEL_ROOT) / ".tmp").iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    runs: dict[tuple[int, int], list[Path]] = {}
    for folder in folders:
        if m := _TMP_NAME.match(folder.name):
            runs.setdefault((int(m[1]), int(m[2])), []).append(folder)
    if not runs:
        return []
    training = set(
        GradingModel.objects.filter(status=ModelStatus.TRAINING, assignment_id__in={a for a, _ in runs}).values_list(
            "assignment_id", "version"
        )
    )
    removed = [
        folder.name
        for run, found in sorted(runs.items())
        if run not in training
        for folder in found
        if _remove_if_dead(folder)
    ]
    if removed:
        log.info("removed the temporary folders of %d dead training run(s): %s", len(removed), ", ".join(removed))
    return removed


def _serving_allows(assignment_id: int, method: str) -> tuple[bool, str]:
    row = GraderSettings.objects.filter(assignment_id=assignment_id).first()
    knob = row.serving if row else conf.serving_default()
    if knob in (ServingChoice.FAST, ServingChoice.FINETUNE) and knob != method:
        return False, knob
    return True, knob


# ------------------------------------------------------------------------------- training
def model_train(
    *,
    assignment_id: int,
    method: str = Method.FAST,
    trigger: str = "manual",
    requested_by_id: int | None = None,
    finetune_overrides: dict[str, object] | None = None,
    progress: bool = False,
    schedule_scoring: bool = True,
) -> TrainResult:
    if method not in Method.values:
        raise ValidationError({"method": f"Unknown method {method!r}; expected one of {', '.join(Method.values)}."})
    data = training_set(assignment_id)
    if len(data) < conf.MIN_TRAINING_ESSAYS:
        raise ValidationError(
            {
                "assignment": f"{len(data)} teacher-graded submissions; "
                f"training needs at least {conf.MIN_TRAINING_ESSAYS}."
            }
        )
    record = _new_record(
        assignment_id=assignment_id,
        method=method,
        language=data.language,
        trigger=trigger,
        requested_by_id=requested_by_id,
    )
    root = _model_root()
    started = time.perf_counter()
    tmp: Path | None = None
    lock: int | None = None
    final: Path | None = None
    try:
        (root / ".tmp").mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(assignment_id, record.version), dir=root / ".tmp"))
        lock = _hold(tmp)
        result = _train_into(record, data, tmp / "artefact", method, finetune_overrides or {}, progress)
        final = root / f"assignment-{assignment_id}" / f"v{record.version:04d}-{method}"
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / "artefact", final)  # atomic on one filesystem: the artefact appears whole
        record.artefact = str(final.relative_to(root))
        record.status = ModelStatus.READY
        record.trained_at = timezone.now()
        record.train_seconds = time.perf_counter() - started
        for key, value in result.items():
            setattr(record, key, _json_safe(value))
        record.save()
    except BaseException as exc:  # Ctrl-C included: the record must not stay "training"
        # The artefact's folder if it was renamed into place before the failure.
        renamed = final if final is not None and tmp is not None and not (tmp / "artefact").exists() else None
        try:
            # Marked failed first, then its artefact removed: a record never says "ready" without one.
            GradingModel.objects.filter(pk=record.pk).update(
                status=ModelStatus.FAILED, failure_reason=_failure_reason(exc)[:1000]
            )
        except BaseException:
            # The database is gone too: the save may have committed before the connection broke,
            # so the record may say "ready"; the artefact is kept (an orphan at worst, logged).
            if renamed is not None:
                log.error("training run of model %s failed and could not be recorded; kept %s", record.pk, renamed)
            raise
        if renamed is not None:  # a failed record owns no artefact: the save failed after the rename
            shutil.rmtree(renamed, ignore_errors=True)
        raise
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _release(lock)
    activated, decision = _promote(record, data, schedule_scoring=schedule_scoring)
    return TrainResult(
        model_id=record.pk,
        version=record.version,
        method=method,
        activated=activated,
        val_qwk=record.val_qwk,
        decision=decision,
        seconds=time.perf_counter() - started,
        extra={"n_train": record.n_train, "n_val": record.n_val},
    )


def _json_safe(value: object) -> object:
    """``value`` with every NaN or infinite float as None: JSON has no such numbers (SQLite's
    JSON_VALID check and PostgreSQL's jsonb refuse them), and a diverged fine-tune reports them
    (best validation QWK -inf, NaN losses)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return _finite(float(value))
    return value


EARLY_STOPPING_SPLIT_FROM = 40  # validation essays; below, early stopping and calibration share them


def _early_stopping_half(ids: Sequence[int]) -> np.ndarray:
    """Which validation essays stop the fine-tuning: about half, each by a stable hash of its own
    id, so an essay stays on its side in every retraining (an older model's held-out half stays
    held out for the fair comparison). All of them below EARLY_STOPPING_SPLIT_FROM (they then
    also calibrate), or if a side got fewer than 2."""
    mask = np.array([stable_fraction(i, salt="eduai-stop") < 0.5 for i in ids], dtype=bool)
    if len(ids) < EARLY_STOPPING_SPLIT_FROM or mask.sum() < 2 or (~mask).sum() < 2:
        return np.ones(len(ids), dtype=bool)
    return mask


class TrainingDiverged(Exception):
    """The trained model gives non-finite predictions (a fine-tune whose weights went NaN)."""


def _failure_reason(exc: BaseException) -> str:
    """What a teacher reads on the failed record (school pages drop file paths from it)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SoftTimeLimitExceeded):
        return "stopped: training ran past its time limit (EDUAI_TRAIN_TIME_LIMIT)"
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    if isinstance(exc, TrainingDiverged):
        return str(exc)
    if isinstance(exc, DatabaseError):
        return f"the trained model could not be recorded, so it was not kept ({type(exc).__name__}: {exc})"
    return f"{type(exc).__name__}: {exc}"


def _train_into(record, data: TrainingSet, workdir: Path, method: str, overrides: dict, progress: bool) -> dict:
    from .scoring.base import round_to_rubric  # noqa: F401  (kept near its use in the docs)

    val_mask = validation_mask(data.ids)
    rubric = data.rubric
    calibration: tuple[np.ndarray, np.ndarray] | None = None  # (targets, raw) for the radius
    coverage = conf.coverage()
    hp: dict[str, object] = rubric_to_hyperparameters(rubric)
    if method == Method.FAST:
        from .scoring.fast import FastScorer
        from .serving import default_spec, embeddings_ensure

        spec = default_spec(data.language)
        key = ""
        if spec is not None:
            found = embeddings_ensure(
                submission_ids=list(data.ids),
                spec=spec,
                texts=dict(zip(data.ids, data.texts, strict=True)),
                progress=progress,
            )
            data = TrainingSet(**{**data.__dict__, "embeddings": np.stack([found[i] for i in data.ids])})
            key = spec.key
        train, val = data.subset(~val_mask), data.subset(val_mask)
        cv = CV_FOLDS if len(data) < CV_CONFORMAL_BELOW else 0
        report = FastScorer.fit(train, workdir, val=val, embedding_key=key, cv_folds=cv)
        raw_val = np.asarray(report.extra["val_predictions"])
        if raw_val is None:
            raw_val = np.zeros((0, len(rubric.heads)))
        oof = report.extra.get("oof_predictions")
        if oof is not None:
            # fit() returns them in its train + val order
            calibration = (np.vstack([train.targets, val.targets]), np.asarray(oof, dtype=np.float64))
            hp["conformal"] = f"{cv}-fold out-of-fold residuals, {len(data)} essays"
        # The served model was refitted on train + validation essays: it has seen them all.
        served_ids = list(data.ids)
    else:
        from eduai.inference import finetune
        from eduai.inference.device import cuda_available

        from .scoring.finetuned import FineTunedScorer

        base = conf.finetune_defaults(cuda_available())
        allowed = set(finetune.FineTuneConfig.__dataclass_fields__) - {"extra"}
        unknown = set(overrides) - allowed
        if unknown:
            raise ValidationError({"hyperparameters": f"Unknown fine-tuning settings: {', '.join(sorted(unknown))}."})
        config = finetune.FineTuneConfig(**{**base, **overrides})
        train, val = data.subset(~val_mask), data.subset(val_mask)
        # Early stopping keeps the epoch that did best on its essays, so the QWK there is
        # optimistic (ASAP prompt 3: 0.761 on the stopping half, 0.725 on the other), and the
        # registry compares validation QWKs to promote. With enough validation essays, half of
        # them stop the training and the other half, untouched, give the QWK and the radius.
        stop_mask = _early_stopping_half(val.ids)
        split = not stop_mask.all()
        stop, val = val.subset(stop_mask), val.subset(~stop_mask)
        unlabelled = unlabelled_texts(record.assignment_id) if config.dapt_epochs > 0 else ()
        report = FineTunedScorer.fit(train, stop, workdir, config=config, unlabelled=unlabelled, progress=progress)
        meta = json.loads((workdir / finetune.ARTEFACT_FILE).read_text())
        raw_stop = np.asarray(meta.pop("val_predictions"), dtype=np.float64).reshape(len(stop), -1)
        (workdir / finetune.ARTEFACT_FILE).write_text(json.dumps(meta))
        if split:  # the served model (int8 where validated), on essays it has never been judged by
            raw_val = FineTunedScorer.load(workdir).predict(list(val.texts))
        else:
            val, raw_val = stop, raw_stop
        hp["finetune_report"] = {k: v for k, v in report.extra.items() if k != "history"}
        hp["history"] = report.extra.get("history", [])
        hp["early_stopping_essays"] = len(stop)
        hp["conformal"] = (
            f"validation residuals of {len(val)} essays kept apart from early stopping"
            if split
            else f"validation residuals of the {len(val)} early-stopping essays (too few to split)"
        )
        # Early stopping chose among its epochs on ``stop``: those essays count as seen.
        served_ids = list(train.ids) + (list(stop.ids) if split else [])
    if not np.isfinite(raw_val).all():
        # A diverged network (NaN weights) must never serve: every essay it scored would fail.
        raise TrainingDiverged("training diverged: the model's validation predictions are not finite numbers")
    (workdir / TRAIN_IDS_FILE).write_text(json.dumps(served_ids))
    np.save(workdir / "val_predictions.npy", raw_val)
    hp.update(report.hyperparameters)
    hp["val_ids"] = list(val.ids)
    metrics = _metrics(val, raw_val, rubric, coverage, calibration)
    return {
        "base_model": report.base_model,
        "embedding_key": report.embedding_key,
        "hyperparameters": hp,
        "n_train": len(served_ids),
        "n_val": len(val),
        "interval_coverage": coverage,
        **metrics,
    }


def _metrics(
    val: TrainingSet,
    raw: np.ndarray,
    rubric: Rubric,
    coverage: float,
    calibration: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, object]:
    """QWK and RMSE on the validation essays; the conformal radii from ``calibration`` (targets,
    out-of-fold raw values) when given, else from the validation residuals."""
    out: dict[str, object] = {"val_qwk": None, "val_rmse": None, "interval_halfwidth": None, "trait_metrics": {}}
    cal_t, cal_raw = calibration if calibration is not None else (val.targets, raw)
    out["interval_halfwidth"] = _finite(conformal_radius(cal_raw[:, 0] - cal_t[:, 0], coverage))
    if len(val) == 0:
        return out
    y = val.targets[:, 0]
    out["val_qwk"] = _finite(qwk(y, raw[:, 0], rubric.min_score, rubric.max_score))
    out["val_rmse"] = float(np.sqrt(np.mean((raw[:, 0] - y) ** 2)))
    traits: dict[str, dict[str, float | None]] = {}
    for h, trait in enumerate(rubric.traits, start=1):
        t = val.targets[:, h]
        known = ~np.isnan(t)
        ct = cal_t[:, h]
        traits[trait.name] = {
            "qwk": _finite(qwk(t[known], raw[known, h], trait.min_score, trait.max_score))
            if known.sum() >= 2
            else None,
            "halfwidth": _finite(conformal_radius(cal_raw[:, h] - ct, coverage)),
            "n_val": int(known.sum()),
        }
    out["trait_metrics"] = traits
    return out


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# ------------------------------------------------------------------------------ promotion
def _fair_comparison(
    candidate: GradingModel, active: GradingModel, data: TrainingSet
) -> tuple[float, float, int] | None:
    """(candidate QWK, active QWK, n) on the candidate's validation essays the active never trained on."""
    from .serving import predictions_for

    root = Path(settings.EDUAI_MODEL_ROOT)
    try:
        seen = set(json.loads((root / active.artefact / TRAIN_IDS_FILE).read_text()))
    except (OSError, ValueError):
        return None
    val_ids = [int(i) for i in candidate.hyperparameters.get("val_ids", [])]
    keep_ids = [i for i in val_ids if i not in seen]
    if len(keep_ids) < 2:
        return None
    index = {sid: k for k, sid in enumerate(data.ids)}
    rows = [index[i] for i in keep_ids if i in index]
    if len(rows) < 2:
        return None
    cand_raw = np.load(root / candidate.artefact / "val_predictions.npy")
    cand_pos = {sid: k for k, sid in enumerate(val_ids)}
    cand = cand_raw[[cand_pos[data.ids[r]] for r in rows], 0]
    try:
        act = predictions_for(active, [data.ids[r] for r in rows], [data.texts[r] for r in rows])[:, 0]
    except SoftTimeLimitExceeded:
        raise  # out of time: not a reason to skip the comparison and promote on a weaker test
    except Exception:
        log.exception("could not re-score serving model %s for comparison", active.pk)
        return None
    y = data.targets[rows, 0]
    lo, hi = data.rubric.min_score, data.rubric.max_score
    return qwk(y, cand, lo, hi), qwk(y, act, lo, hi), len(rows)


def _promote(record: GradingModel, data: TrainingSet, *, schedule_scoring: bool) -> tuple[bool, str]:
    allowed, knob = _serving_allows(record.assignment_id, record.method)
    if not allowed:
        decision = f"not serving: the assignment's serving setting is '{knob}'"
        GradingModel.objects.filter(pk=record.pk).update(decision=decision)
        return False, decision
    active = GradingModel.objects.filter(assignment_id=record.assignment_id, is_active=True).first()
    if active is None:
        decision = "serving: first model of the assignment"
        better = True
    elif not _serving_allows(record.assignment_id, active.method)[0]:
        decision, better = f"serving: replaces v{active.version}, whose method the serving setting excludes", True
    else:
        fair = _fair_comparison(record, active, data)
        if fair is not None:
            cand, act, n = fair
            better = cand > act
            basis = f"{cand:.3f} vs {act:.3f} QWK on the same {n} validation essays"
        else:
            cand = record.val_qwk if record.val_qwk is not None else -math.inf
            act = active.val_qwk if active.val_qwk is not None else -math.inf
            better = cand > act
            basis = f"validation QWK {record.val_qwk} vs {active.val_qwk}"
        decision = (
            f"serving: beat v{active.version} ({basis})"
            if better
            else f"not serving: v{active.version} is as good or better ({basis})"
        )
    if better:
        activated = model_activate(
            model_id=record.pk,
            expected_active_id=active.pk if active else None,
            decision=decision,
            schedule_scoring=schedule_scoring,
        )
        if not activated:
            decision = "not serving: another model was activated meanwhile"
            GradingModel.objects.filter(pk=record.pk).update(decision=decision)
        return activated, decision
    GradingModel.objects.filter(pk=record.pk).update(decision=decision)
    return False, decision


def model_activate(
    *,
    model_id: int,
    expected_active_id: int | None = None,
    decision: str = "",
    by_user_id: int | None = None,
    schedule_scoring: bool = True,
    check_expected: bool = True,
) -> bool:
    """Make ``model_id`` the assignment's serving model (promotion, or an admin's rollback).

    With ``check_expected``, it happens only if the serving model is still ``expected_active_id``
    (two training runs finishing together cannot both win). Returns True if it now serves.
    """
    with transaction.atomic():
        record = GradingModel.objects.select_for_update().get(pk=model_id)
        if record.status != ModelStatus.READY:
            raise ValidationError(
                {"model": f"Model v{record.version} is {record.status}; only ready models can serve."}
            )
        GraderSettings.objects.get_or_create(assignment_id=record.assignment_id)
        GraderSettings.objects.select_for_update().get(assignment_id=record.assignment_id)
        current = GradingModel.objects.filter(assignment_id=record.assignment_id, is_active=True).first()
        if check_expected and (current.pk if current else None) != expected_active_id:
            return False
        if current is not None and current.pk == record.pk:
            return True
        if current is not None:
            GradingModel.objects.filter(pk=current.pk).update(is_active=False)
        note = decision or (f"activated by user {by_user_id}" if by_user_id else "activated")
        GradingModel.objects.filter(pk=record.pk).update(
            is_active=True, activated_at=timezone.now(), decision=note[:500]
        )
        if schedule_scoring:
            assignment_id, mid = record.assignment_id, record.pk
            transaction.on_commit(lambda: schedule_waiting(assignment_id=assignment_id, model_id=mid))
    return True


def schedule_waiting(*, assignment_id: int, model_id: int) -> int:
    """Enqueue scoring of the submissions that wait for the new serving model (64 per task)."""
    from .serving import submissions_waiting
    from .tasks import score_submissions

    ids = submissions_waiting(assignment_id=assignment_id, model_id=model_id)
    size = conf.scoring_batch()
    for start in range(0, len(ids), size):
        score_submissions.delay(ids[start : start + size])
    return len(ids)
