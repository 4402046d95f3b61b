"""Knowledge-tracing benchmark: BKT and the deep model on the ASSISTments 2009 dev logs. Prints
figures; not a test.

Protocol (the same code path as ``manage.py evaluate_mastery``, assessment/kt/evaluation.py):
for each test fold, students of that fold are the test set and the students of the other folds
train (the deep model keeps 10% of the training students aside for early stopping); each test
student is replayed response by response through the online update path, every response
predicted from that student's earlier responses only. BKT is measured in the same run, on the
same split, as the baseline; the deep model's figures are also given as ratios/differences
against it. Responses tagged with several skills are one prediction.

Update latency is wall-clock per response (update + reading back its skills' mastery), p50 and
p99 over all test responses; ``update_cpu_ms`` is the same in thread CPU time, which does not
count the time the process waited for a core on a shared machine. Training time is wall clock
and CPU seconds (``train_cpu_s``; CPU-s / 2 is the idle 2-core equivalent).

``--service N`` also times N online updates through the production service path
(``services.evidence_from_events`` for one new event: lock the state row, update, write the
state, mastery and history rows) in a throwaway SQLite database, with the cold-start BKT and
with the deep model just trained registered as the school's active model. ``--service-postgres
URL`` does the same in a throwaway PostgreSQL database created on that server (and dropped
after), the production set-up: e.g. ``postgres://postgres@127.0.0.1:5432/postgres``.

Run (the full run trains the deep model once per test fold: ~10 CPU-minutes each):
    nice .venv/bin/python bench/mastery.py [--data ../shared/data/kt/assist2009_dev.csv]
        [--test-folds 4] [--skip-deep] [--deep-hyper '{"max_epochs": 3}'] [--sample 0.25]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.kt.base import KnowledgeTracer  # noqa: E402
from assessment.kt.evaluation import evaluate  # noqa: E402
from assessment.kt.io import read_interactions  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "kt" / "assist2009_dev.csv"


def cpu_latency(model: KnowledgeTracer, histories: list, limit: int = 20000) -> tuple[float, float]:
    """p50/p99 of thread CPU ms per update (+ mastery read-back) over up to ``limit`` responses."""
    times = []
    for h in histories:
        state = model.new_state()
        for r in h:
            t0 = time.thread_time_ns()
            model.update(state, r)
            model.mastery(state, r.skills)
            times.append((time.thread_time_ns() - t0) / 1e6)
        if len(times) >= limit:
            break
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def attention_only_auc(model: KnowledgeTracer, histories: list) -> float | None:
    """AUC of the deep model's attention part alone, without the stacked logistic model's blend,
    on the same test students: the torch forward over each student in chunks of ``window``
    responses (the online path slides its window instead: the same up to ``window`` responses).
    None for BKT or a deep model without the stack."""
    from sklearn.metrics import roc_auc_score

    from assessment.kt.deep import DeepKT

    if not isinstance(model, DeepKT) or not model.hyper.stack:
        return None
    from eduai.inference import kt as deep_torch

    hp = model.hyper
    test = [h for h in histories if len(h)]
    enc = model.encode(test)  # with stack_in_head the head also reads the logistic logit
    logits = deep_torch.predict_logits(
        model.weights, enc, n_items=len(model.vocab.items), n_skills=len(model.vocab.skills), hyper=hp, window=hp.window
    )
    y = np.concatenate([[r.correct >= 0.5 for r in h] for h in test])
    return float(roc_auc_score(y, np.concatenate(logits)))


@contextlib.contextmanager
def _throwaway_database(tmp: str, postgres: str | None) -> Iterator[str]:
    """A database URL for the service benchmark: SQLite in ``tmp``, or a fresh PostgreSQL
    database on the server of ``postgres``, dropped afterwards (Ctrl-C included)."""
    if not postgres:
        yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    import psycopg

    url = urlsplit(postgres)
    name = f"eduai_bench_{os.getpid()}"

    def admin() -> psycopg.Connection:
        return psycopg.connect(
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or None,
            dbname=url.path.lstrip("/") or "postgres",
            autocommit=True,
        )

    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((url.scheme, url.netloc, f"/{name}", "", ""))
    finally:
        from django.db import connections

        connections.close_all()
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _answer(course_id: int, student_id: int, at: datetime, item_id: int, success: bool) -> list[int]:
    """Record one practice answer through the core (not timed); its event ids."""
    from eduai.courses import api as courses

    event = courses.EventInput(
        course_id=course_id,
        actor_id=student_id,
        verb="answered",
        timestamp=at,
        object_type="practice_item",
        practice_item_id=item_id,
        result_success=success,
    )
    return courses.activity_events_record(events=[event]).created_ids


def service_latency(
    models: dict[str, KnowledgeTracer | None], n: int, postgres: str | None = None, *, gc_freeze: bool = False
) -> dict[str, dict[str, float]]:
    """p50/p99 wall and thread-CPU ms of ``evidence_from_events`` for one new event at a time,
    and the SQL statements one such update runs (with the state cached, as when timed), with
    the 1-minute load average at the start and end of each model's loop (the wall figures on
    a shared box depend on it; the CPU ones much less)."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, _throwaway_database(tmp, postgres) as db_url:
        os.environ["DATABASE_URL"] = db_url
        os.environ["EDUAI_MODEL_ROOT"] = f"{tmp}/models"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from assessment import services
        from assessment.kt import loader
        from assessment.models import KTModelVersion
        from eduai.accounts.models import User
        from eduai.celery import gc_freeze_startup_objects
        from eduai.courses import api as courses
        from eduai.courses.models import Course, PracticeItem, School, Skill

        call_command("migrate", verbosity=0)
        # production runs with DEBUG off; with it on, every query is also logged in memory
        settings.DEBUG = False
        # the receiver would run the update eagerly inside activity_events_record (no broker);
        # disconnect it so that the timed call below is the one that does the work. The
        # recommender's refresh (also eager without a broker) is not part of this path either.
        courses.activity_recorded.disconnect(dispatch_uid="assessment.activity_recorded")
        courses.activity_recorded.disconnect(dispatch_uid="recommender.activity_recorded")
        school = School.objects.create(name="Bench", slug="bench")
        course = Course.objects.create(school=school, code="KT", title="KT")
        skills = [Skill.objects.create(course=course, name=f"S{i}") for i in range(10)]
        items = []
        for i in range(50):
            item = PracticeItem.objects.create(course=course, title=f"I{i}")
            item.skills.add(skills[i % 10], *([skills[(i + 1) % 10]] if i % 5 == 0 else []))
            items.append(item)
        rng = np.random.default_rng(0)
        for name, model in models.items():
            KTModelVersion.objects.filter(school=school).delete()
            loader.forget_models()
            if model is not None:
                path = Path(settings.EDUAI_MODEL_ROOT) / "assessment" / name
                model.save(path)
                KTModelVersion.objects.create(
                    school=school, method=model.method, version=1, status="active", artefact_path=f"assessment/{name}"
                )
            student = User.objects.create(username=f"bench-{name}")
            courses.enrollment_upsert(course_id=course.pk, user_id=student.pk)
            wall, cpu = [], []
            if gc_freeze:  # what a worker process does once it is up (eduai/celery.py)
                gc_freeze_startup_objects()
            load_start = os.getloadavg()[0]
            start = timezone.now()
            for k in range(n):
                ids = _answer(
                    course.pk,
                    student.pk,
                    start + timedelta(seconds=k),
                    items[int(rng.integers(len(items)))].pk,
                    bool(rng.random() < 0.6),
                )
                t0, c0 = time.perf_counter(), time.thread_time_ns()
                assert services.evidence_from_events(event_ids=ids) == 1
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.thread_time_ns() - c0) / 1e6)
            # and the SQL statements of one more answer, besides its BEGIN and COMMIT
            ids = _answer(course.pk, student.pk, start + timedelta(seconds=n), items[0].pk, True)
            with CaptureQueriesContext(connection) as ctx:
                services.evidence_from_events(event_ids=ids)
            out[name] = {
                "wall_ms_p50": float(np.percentile(wall, 50)),
                "wall_ms_p99": float(np.percentile(wall, 99)),
                "cpu_ms_p50": float(np.percentile(cpu, 50)),
                "cpu_ms_p99": float(np.percentile(cpu, 99)),
                "statements": sum(q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT") for q in ctx.captured_queries),
                "load_start": load_start,
                "load_end": os.getloadavg()[0],
                "gc_frozen": gc.get_freeze_count(),
            }
            print(f"service path, {name}: {json.dumps(out[name])}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--test-folds", default="4", help="comma-separated folds, each tested once")
    ap.add_argument("--skip-deep", action="store_true")
    ap.add_argument("--deep-hyper", default="", help="DeepHyper overrides as JSON")
    ap.add_argument("--sample", type=float, default=1.0, help="fraction of train and test students (development)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--service", type=int, default=0, help="also time N updates through the service path")
    ap.add_argument(
        "--gc-freeze", action="store_true", help="service path: freeze start-up objects first, as a worker does"
    )
    ap.add_argument("--service-postgres", metavar="URL", help="time the service path on this PostgreSQL server")
    ap.add_argument("--out", help="write all figures as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # per-epoch progress
    path = Path(args.data)
    if not path.is_file():
        print(f"no data at {path}: see /work/shared/data/README.md (the benchmark needs the dev logs)")
        return 2
    hyper = json.loads(args.deep_hyper) if args.deep_hyper else None
    logs = read_interactions(path)
    rng = np.random.default_rng(args.seed)
    results: list[dict[str, object]] = []
    trained: dict[str, KnowledgeTracer | None] = {"cold-start bkt": None}
    for fold in [f.strip() for f in args.test_folds.split(",") if f.strip()]:
        train = [s.responses for s in logs if s.split != fold]
        test = [s.responses for s in logs if s.split == fold]
        if args.sample < 1.0:
            train = [train[i] for i in rng.permutation(len(train))[: max(1, int(len(train) * args.sample))]]
            test = [test[i] for i in rng.permutation(len(test))[: max(1, int(len(test) * args.sample))]]
        row: dict[str, object] = {"test_fold": fold, "train_students": len(train), "test_students": len(test)}
        for name in ["bkt"] + ([] if args.skip_deep else ["deep"]):
            t0, c0 = time.perf_counter(), time.process_time()
            metrics, info, model = evaluate(name, train, test, hyper=hyper if name == "deep" else None, seed=args.seed)
            cpu50, cpu99 = cpu_latency(model, test)
            if name == "deep":
                trained["deep"] = model
            row[name] = {
                **metrics,
                "train_cpu_s": info.get("train_cpu_seconds"),
                "update_cpu_ms_p50": cpu50,
                "update_cpu_ms_p99": cpu99,
                "epochs": info.get("epochs"),
                "best_epoch": info.get("best_epoch"),
                "valid_auc": info.get("valid_auc"),
                "stopped": info.get("stopped"),
                # the stacked logistic model (deep only): its AUC and the blend's on the
                # validation students, the blend weights (attention logit, logistic logit,
                # with the boosted trees their logit, intercept), the trees' own validation AUC
                # and count, and the attention part alone on the test students
                "stack_valid_auc": info.get("stack_valid_auc"),
                "blend_valid_auc": info.get("blend_valid_auc"),
                "stack_blend": info.get("stack_blend"),
                "gbm_valid_auc": info.get("gbm_valid_auc"),
                "gbm_trees": info.get("gbm_trees"),
                "attention_only_auc": attention_only_auc(model, test),
                "total_wall_s": time.perf_counter() - t0,
                "total_cpu_s": time.process_time() - c0,
            }
            print(f"fold {fold} {name}: {json.dumps(row[name], default=float)}", flush=True)
        results.append(row)

    print("\nfold  model  AUC     ACC     RMSE    n_test  train_s  train_cpu_s  upd_p50  upd_p99  cpu_p50  cpu_p99")
    for row in results:
        for name in ("bkt", "deep"):
            m = row.get(name)
            if not isinstance(m, dict):
                continue
            print(
                f"{row['test_fold']:<5} {name:<6} {m['auc']:.4f}  {m['acc']:.4f}  {m['rmse']:.4f}  "
                f"{m['n_test_responses']:>6}  {m['train_seconds']:>7.1f}  {m['train_cpu_s'] or 0:>11.1f}  "
                f"{m['update_ms_p50']:>7.3f}  {m['update_ms_p99']:>7.3f}  "
                f"{m['update_cpu_ms_p50']:>7.3f}  {m['update_cpu_ms_p99']:>7.3f}"
            )
    deep_rows = [r for r in results if isinstance(r.get("deep"), dict)]
    if deep_rows:
        gains = [r["deep"]["auc"] - r["bkt"]["auc"] for r in deep_rows]  # type: ignore[index]
        print(f"\ndeep - BKT AUC, median over {len(gains)} fold(s): {statistics.median(gains):+.4f}")
    if args.service:
        results.append(
            {"service_path": service_latency(trained, args.service, args.service_postgres, gc_freeze=args.gc_freeze)}
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
