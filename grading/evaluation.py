"""Offline evaluation of the grading engine on a labelled essay file, through the production path.

Contract of ``evaluate_file(path, method=...)``:
- reads only ``path`` (columns ``essay_id, prompt_id, text, score, min_score, max_score, split``
  and optional ``trait_*``; see /work/shared/data/README.md) and validates it, naming bad rows;
- switches this process to a throwaway SQLite database (migrated from scratch) and a throwaway
  model root, so nothing touches the configured database or models, and removes both at the end,
  Ctrl-C included;
- per prompt: creates an assignment with that rubric (traits from the ``trait_*`` columns the
  prompt has), imports train rows as teacher-graded submissions and test rows as new ones, trains
  with ``training.model_train`` (the service production runs) and scores test rows with
  ``serving.submissions_score`` (what the inference worker runs), in micro-batches;
- returns ``{"prompts": {id: {"qwk", "n_train", "n_test", "coverage", ...}}, "mean_qwk",
  "train_seconds", "score_seconds", "essays_per_second", ...}``. QWK is sklearn's quadratic
  weighted kappa on the rubric's integer scale; coverage is the share of test essays whose true
  score lies inside the stored prediction interval.

Timing: ``embed_seconds`` is the cost of embedding the training essays when they arrived (done
once per submission in production, before any training); ``train_seconds`` is training alone;
``score_seconds`` covers scoring the test essays from raw text (their embeddings included).
"""

from __future__ import annotations

import contextlib
import csv
import math
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError

from eduai.courses import api as courses

REQUIRED = ("essay_id", "prompt_id", "text", "score", "min_score", "max_score", "split")
MAX_ERRORS_SHOWN = 10
# Scores and trait scores of the file, as any rubric's: a larger or non-finite number would
# fail deep in the evaluation (an integer column, math.floor).
MAX_POINTS = courses.MAX_SCORE_POINTS


@dataclass
class Essay:
    essay_id: str
    text: str
    score: int
    split: str
    traits: dict[str, float] = field(default_factory=dict)


@dataclass
class Prompt:
    prompt_id: str
    min_score: int
    max_score: int
    essays: list[Essay] = field(default_factory=list)


def _points(value: str, what: str) -> float:
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_POINTS:
        raise ValueError(f"{what} must be a number between -{MAX_POINTS:,} and {MAX_POINTS:,}, got {value!r}")
    return number


def _int(value: str, what: str) -> int:
    number = _points(value, what)
    if not number.is_integer():
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(number)


def read_eval_csv(path: str | Path) -> dict[str, Prompt]:
    """Parse and validate the evaluation file; raise ``ValidationError`` listing bad rows."""
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"{p}: no such file")
    csv.field_size_limit(sys.maxsize)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:  # a BOM (spreadsheet "CSV UTF-8") is not a column name
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise ValidationError(f"{p}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}")
            trait_cols = [c for c in columns if c.startswith("trait_")]
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{p}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ValidationError(f"{p}: not a readable CSV file ({exc})") from exc
    prompts: dict[str, Prompt] = {}
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            pid = (row["prompt_id"] or "").strip()
            eid = (row["essay_id"] or "").strip()
            if not pid or not eid:
                raise ValueError("empty essay_id or prompt_id")
            if (pid, eid) in seen:
                raise ValueError(f"essay_id {eid} repeated in prompt {pid}")
            seen.add((pid, eid))
            lo, hi = _int(row["min_score"], "min_score"), _int(row["max_score"], "max_score")
            if hi <= lo:
                raise ValueError(f"max_score {hi} must exceed min_score {lo}")
            score = _int(row["score"], "score")
            if not lo <= score <= hi:
                raise ValueError(f"score {score} outside {lo}-{hi}")
            split = (row["split"] or "").strip().lower()
            if split not in {"train", "test"}:
                raise ValueError(f"split must be 'train' or 'test', got {row['split']!r}")
            text = row["text"] or ""
            if not text.strip():
                raise ValueError("empty text")
            traits = {}
            for c in trait_cols:
                raw = (row.get(c) or "").strip()
                if raw:
                    traits[c.removeprefix("trait_")] = _points(raw, c)
            prompt = prompts.setdefault(pid, Prompt(pid, lo, hi))
            if (prompt.min_score, prompt.max_score) != (lo, hi):
                raise ValueError(
                    f"rubric {lo}-{hi} differs from the prompt's earlier rows ({prompt.min_score}-{prompt.max_score})"
                )
            prompt.essays.append(Essay(eid, text, score, split, traits))
        except (ValueError, TypeError) as exc:
            errors.append(f"line {n}: {exc}")
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise ValidationError(f"{p}: {len(errors)} bad row(s): {shown}{more}")
    if not prompts:
        raise ValidationError(f"{p}: no essays")
    for prompt in prompts.values():
        n_train = sum(e.split == "train" for e in prompt.essays)
        if n_train < 5 or n_train == len(prompt.essays):
            raise ValidationError(
                f"{p}: prompt {prompt.prompt_id} needs at least 5 train rows and 1 test row "
                f"(has {n_train} train, {len(prompt.essays) - n_train} test)"
            )
    return prompts


@contextlib.contextmanager
def throwaway_database() -> Iterator[Path]:
    """Point this process's default database at a fresh, migrated SQLite file; restore after."""
    from django.core.management import call_command
    from django.db import connections

    folder = Path(tempfile.mkdtemp(prefix="eduai-eval-"))
    original = connections.settings["default"]
    replacement = {
        **original,
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(folder / "eval.sqlite3"),
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {"timeout": 20},
        "CONN_MAX_AGE": 0,
        "ATOMIC_REQUESTS": False,
    }
    connections["default"].close()
    connections.settings["default"] = replacement
    del connections["default"]
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield folder
    finally:
        with contextlib.suppress(Exception):
            connections["default"].close()
        with contextlib.suppress(AttributeError):
            del connections["default"]
        connections.settings["default"] = original
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def quiet_signals() -> Iterator[None]:
    """Mute other apps' receivers of grading's signals: the evaluation measures the grader alone,
    and a review or LTI receiver has nothing to do for throwaway submissions."""
    from .signals import grade_released, proposal_ready

    saved = [(s, s.receivers[:]) for s in (proposal_ready, grade_released)]
    for s, _ in saved:
        s.receivers = []
        s.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for s, receivers in saved:
            s.receivers = receivers
            s.sender_receivers_cache.clear()


@contextlib.contextmanager
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in-process: the throwaway database exists only in this process."""
    from celery import current_app

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        yield
    finally:
        current_app.conf.task_always_eager = previous


def _majority_language(texts: list[str]) -> str:
    from eduai.courses.text import detect_language

    votes = Counter(detect_language(t) for t in texts[:200])
    return "zh" if votes.get("zh", 0) > sum(votes.values()) / 2 else "en"


def evaluate_file(
    path: str | Path,
    *,
    method: str = "fast",
    finetune_overrides: dict[str, object] | None = None,
    progress: bool = True,
    log=print,
) -> dict[str, object]:
    from django.test import override_settings

    prompts = read_eval_csv(path)
    model_root = Path(tempfile.mkdtemp(prefix="eduai-eval-models-"))
    overrides = {
        "EDUAI_MODEL_ROOT": model_root,
        "EDUAI_GRADER_AUTO_TRAIN": "0",
        "EDUAI_TRAIN_EAGER_IN_THREAD": "0",
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    }
    try:
        with override_settings(**overrides), throwaway_database(), eager_tasks(), quiet_signals():
            return _evaluate(prompts, method, finetune_overrides or {}, progress, log)
    finally:
        shutil.rmtree(model_root, ignore_errors=True)
        from eduai.inference import cache_clear

        cache_clear()


def _evaluate(prompts: dict[str, Prompt], method: str, overrides: dict, progress: bool, log) -> dict[str, object]:
    from django.utils import timezone

    from eduai.accounts.models import User
    from eduai.courses.models import Assignment, Course, RubricTrait, School, Submission, SubmissionStatus

    from .models import GraderSettings, Prediction
    from .scoring.base import qwk
    from .services import GradeInput, teacher_grades_import
    from .serving import embed_default, submissions_score
    from .training import model_train

    school = School.objects.create(name="Evaluation", slug="evaluation")
    teacher = User.objects.create(username="eval-teacher")
    author = User.objects.create(username="eval-student")
    results: dict[str, dict[str, object]] = {}
    totals: defaultdict[str, float] = defaultdict(float)
    n_test_total = 0
    for prompt in prompts.values():
        train_rows = [e for e in prompt.essays if e.split == "train"]
        test_rows = [e for e in prompt.essays if e.split == "test"]
        language = _majority_language([e.text for e in prompt.essays])
        course = Course.objects.create(
            school=school, code=f"P{prompt.prompt_id}"[:50], title=f"Prompt {prompt.prompt_id}", language=language
        )
        assignment = Assignment.objects.create(
            course=course,
            title=f"Prompt {prompt.prompt_id}",
            prompt="(evaluation)",
            language=language,
            min_score=prompt.min_score,
            max_score=prompt.max_score,
        )
        GraderSettings.objects.create(assignment=assignment, serving=method)
        trait_names = sorted({k for e in train_rows for k in e.traits})
        trait_ranges = {}
        for pos, name in enumerate(trait_names):
            values = [e.traits[name] for e in train_rows if name in e.traits]
            lo, hi = math.floor(min(values)), math.ceil(max(values))
            if hi > lo:
                trait_ranges[name] = (lo, hi)
                RubricTrait.objects.create(assignment=assignment, name=name, min_score=lo, max_score=hi, position=pos)
        now = timezone.now()
        subs = Submission.objects.bulk_create(
            [
                Submission(
                    assignment=assignment,
                    author=author,
                    text=e.text,
                    attempt=k + 1,
                    language=language,
                    submitted_at=now,
                    source="import",
                )
                for k, e in enumerate(train_rows + test_rows)
            ],
            batch_size=500,
        )
        train_ids = [s.pk for s in subs[: len(train_rows)]]
        test_ids = [s.pk for s in subs[len(train_rows) :]]
        grades = []
        for sid, e in zip(train_ids, train_rows, strict=True):
            traits = {
                n: round(min(max(v, trait_ranges[n][0]), trait_ranges[n][1]))
                for n, v in e.traits.items()
                if n in trait_ranges
            }
            grades.append(GradeInput(submission_id=sid, score=e.score, trait_scores=traits or None))
        teacher_grades_import(grades=grades, grader_id=teacher.pk, trigger_training=False)

        log(f"prompt {prompt.prompt_id}: {len(train_rows)} train, {len(test_rows)} test, language {language}")
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(train_ids), 256):  # what arrival did in production, once per essay
            embed_default(submission_ids=train_ids[start : start + 256])
        t1, c1 = time.perf_counter(), time.process_time()
        trained = model_train(
            assignment_id=assignment.pk,
            method=method,
            trigger="evaluation",
            finetune_overrides=overrides,
            progress=progress,
            schedule_scoring=False,
        )
        t2, c2 = time.perf_counter(), time.process_time()
        batches = [test_ids[i : i + 64] for i in range(0, len(test_ids), 64)]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc=f"score {prompt.prompt_id}", unit="batch")
        failed: list[tuple[int, str]] = []
        for batch in batches:
            failed += list(submissions_score(submission_ids=batch, batch_limit=len(batch)).failed)
        t3, c3 = time.perf_counter(), time.process_time()
        preds = {
            p.submission_id: p for p in Prediction.objects.filter(submission_id__in=test_ids, model_id=trained.model_id)
        }
        y = np.array([e.score for e in test_rows], dtype=float)
        raw = np.array([preds[s].raw_score if s in preds else np.nan for s in test_ids])
        scored = ~np.isnan(raw)
        inside = [
            preds[s].interval_low <= e.score <= preds[s].interval_high
            for s, e in zip(test_ids, test_rows, strict=True)
            if s in preds
        ]
        trait_qwk = {}
        for name, (lo, hi) in trait_ranges.items():
            pairs = [
                (e.traits[name], preds[s].trait_scores[name]["raw"])
                for s, e in zip(test_ids, test_rows, strict=True)
                if s in preds and name in e.traits and name in preds[s].trait_scores
            ]
            if len(pairs) >= 2:
                trait_qwk[name] = round(qwk([a for a, _ in pairs], [b for _, b in pairs], lo, hi), 4)
        status_counts = Counter(Submission.objects.filter(pk__in=test_ids).values_list("status", flat=True))
        results[prompt.prompt_id] = {
            "qwk": round(qwk(y[scored], raw[scored], prompt.min_score, prompt.max_score), 4),
            "n_train": len(train_rows),
            "n_test": len(test_rows),
            "coverage": round(float(np.mean(inside)), 4) if inside else None,
            "stated_coverage": trained and preds and next(iter(preds.values())).interval_coverage,
            "val_qwk": trained.val_qwk,
            "n_scored": int(scored.sum()),
            "n_failed": len(failed),
            "scored_status": status_counts.get(SubmissionStatus.SCORED, 0),
            "language": language,
            "model_version": trained.version,
            "trait_qwk": trait_qwk,
            "embed_seconds": round(t1 - t0, 3),
            "train_seconds": round(t2 - t1, 3),
            "score_seconds": round(t3 - t2, 3),
            "train_cpu_seconds": round(c2 - c1, 3),
            "score_cpu_seconds": round(c3 - c2, 3),
            "embed_cpu_seconds": round(c1 - c0, 3),
        }
        totals["embed"] += t1 - t0
        totals["train"] += t2 - t1
        totals["score"] += t3 - t2
        totals["train_cpu"] += c2 - c1
        totals["score_cpu"] += c3 - c2
        n_test_total += len(test_rows)
        log(
            f"  QWK {results[prompt.prompt_id]['qwk']:.4f}  coverage {results[prompt.prompt_id]['coverage']}  "
            f"train {t2 - t1:.1f} s  score {t3 - t2:.1f} s"
        )
    qwks = [float(r["qwk"]) for r in results.values()]  # type: ignore[arg-type]
    return {
        "method": method,
        "prompts": results,
        "mean_qwk": round(float(np.mean(qwks)), 4),
        "train_seconds": round(totals["train"], 3),
        "embed_seconds": round(totals["embed"], 3),
        "score_seconds": round(totals["score"], 3),
        "essays_per_second": round(n_test_total / totals["score"], 2) if totals["score"] > 0 else None,
        # CPU seconds of this process (all threads): on a shared machine the wall clock also
        # counts time spent waiting for a core; these do not.
        "train_cpu_seconds": round(totals["train_cpu"], 3),
        "score_cpu_seconds": round(totals["score_cpu"], 3),
        "n_test": n_test_total,
    }


def format_table(result: dict[str, object]) -> str:
    lines = [f"{'prompt':>8} {'n_train':>8} {'n_test':>7} {'QWK':>7} {'coverage':>9} {'train s':>8} {'score s':>8}"]
    for pid, r in result["prompts"].items():  # type: ignore[union-attr,attr-defined]
        cov = "-" if r["coverage"] is None else f"{r['coverage']:.3f}"
        lines.append(
            f"{pid:>8} {r['n_train']:>8} {r['n_test']:>7} {r['qwk']:>7.4f} {cov:>9} "
            f"{r['train_seconds']:>8.1f} {r['score_seconds']:>8.1f}"
        )
    lines.append(
        f"mean QWK {result['mean_qwk']:.4f}; train {result['train_seconds']:.1f} s; "
        f"score {result['score_seconds']:.1f} s ({result['essays_per_second']} essays/s); "
        f"arrival embeddings of train essays {result['embed_seconds']:.1f} s"
    )
    return "\n".join(lines)
