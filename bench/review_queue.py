"""Speed of the review queue: server-side render of a course with 2,000 scored submissions.

Builds a throwaway database (SQLite in a temporary folder, or the PostgreSQL URL given with
``--database-url``), fills one course with ``--waiting`` scored submissions waiting for review
(each with a proposal whose interval width varies) and ``--decided`` teacher-decided ones (so the
agreement panel has real work to do), then times, through Django's test client and the full
middleware stack:

- the queue page (``/review/courses/<id>/``, first page of 25, least confident first),
- the queue API (``/api/v1/review/courses/<id>/queue/``),
- the same page for a course with 25 waiting submissions (the baseline, same run),

reporting the median and 90th percentile over ``--runs`` renders (after one warm-up), the ratio
to the baseline, and the number of SQL queries per render. Target: median < 300 ms for 2,000.
On PostgreSQL the tables are ANALYZEd after loading (as autovacuum would); ``--no-analyze``
times the cold planner instead.

Run:  .venv/bin/python bench/review_queue.py [--runs 15] [--waiting 2000] [--decided 500]
      [--database-url postgres://postgres@127.0.0.1:5432/eduai_bench]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(database_url: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="eduai-review-bench-"))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")
    os.environ["EDUAI_REVIEW_EXPLAIN_ON_PROPOSAL"] = "0"
    os.environ["EDUAI_GRADER_AUTO_TRAIN"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build_course(code: str, waiting: int, decided: int, seed: int = 1):
    from django.utils import timezone

    from eduai.accounts.models import User
    from eduai.courses.models import Assignment, Course, Enrollment, Role, RubricTrait, School, Submission
    from grading.models import GradingModel, Prediction, TeacherGrade

    rng = random.Random(seed)
    school, _ = School.objects.get_or_create(slug="bench", defaults={"name": "Bench school"})
    course = Course.objects.create(school=school, code=code, title=f"Bench {code}")
    teacher = User.objects.create(username=f"teacher-{code}", display_name="Teacher")
    Enrollment.objects.create(course=course, user=teacher, role=Role.TEACHER)
    assignment = Assignment.objects.create(course=course, title="Essay", prompt="Write.", min_score=0, max_score=6)
    for k, name in enumerate(["Ideas", "Conventions"]):
        RubricTrait.objects.create(assignment=assignment, name=name, min_score=0, max_score=4, position=k)
    model = GradingModel.objects.create(
        assignment=assignment, version=1, method="fast", status="ready", is_active=True, val_qwk=0.78,
        interval_coverage=0.9, interval_halfwidth=1.0,
    )  # fmt: skip
    n = waiting + decided
    users = User.objects.bulk_create(
        [User(username=f"s-{code}-{i}", display_name=f"Student {i}", password="!") for i in range(n)], batch_size=500
    )
    Enrollment.objects.bulk_create(
        [Enrollment(course=course, user=u, role=Role.STUDENT, language_background=rng.choice(["", "zh", "es"]))
         for u in users], batch_size=500,
    )  # fmt: skip
    now = timezone.now()
    text = "My town has a river. It floods in spring. " * 20
    subs = Submission.objects.bulk_create(
        [Submission(assignment=assignment, author=u, text=text, attempt=1, language="en",
                    status="scored" if i < waiting else "reviewed", submitted_at=now, final_score=None)
         for i, u in enumerate(users)], batch_size=500,
    )  # fmt: skip
    preds = []
    for s in subs:
        score = rng.randint(0, 6)
        half = rng.uniform(0.2, 2.5)
        preds.append(
            Prediction(submission=s, model=model, score=score, raw_score=float(score),
                       interval_low=max(0, score - half), interval_high=min(6, score + half), interval_coverage=0.9,
                       trait_scores={"Ideas": {"score": 2, "raw": 2.0, "low": 1.0, "high": 3.0}})
        )  # fmt: skip
    preds = Prediction.objects.bulk_create(preds, batch_size=500)
    grades = []
    for s, p in zip(subs[waiting:], preds[waiting:], strict=True):
        grades.append(TeacherGrade(submission=s, assignment=assignment, score=min(6, max(0, p.score + rng.choice(
            [-1, 0, 0, 1]))), grader=teacher, source="overridden", prediction=p))  # fmt: skip
    TeacherGrade.objects.bulk_create(grades, batch_size=500)
    return course, teacher


def time_get(client, url: str, runs: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up: templates compiled, caches filled
    assert response.status_code == 200, response.status_code
    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
        assert response.status_code == 200
    return times, queries, len(response.content)


def summary(name: str, times: list[float], queries: int, size: int, base: float | None = None) -> float:
    med = statistics.median(times)
    p90 = sorted(times)[max(0, round(0.9 * len(times)) - 1)]
    ratio = f"  x{med / base:.2f} baseline" if base else ""
    print(f"{name:<44} median {med:7.1f} ms  p90 {p90:7.1f} ms  {queries:3d} queries  {size / 1024:6.1f} kB{ratio}")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--decided", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-analyze", action="store_true", help="PostgreSQL: time before planner statistics")
    args = parser.parse_args()
    setup(args.database_url)
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    started = time.perf_counter()
    small, small_teacher = build_course("SMALL", 25, 10)
    big, big_teacher = build_course("BIG", args.waiting, args.decided)
    if connection.vendor == "postgresql" and not args.no_analyze:
        # Bulk-loaded tables have no planner statistics until autovacuum's ANALYZE (within about
        # a minute in production); without them PostgreSQL picks sequential scans for the
        # per-row "latest proposal" lookups: 3.2 s instead of ~35 ms here (--no-analyze shows it).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}; built in {time.perf_counter() - started:.1f} s "
          f"({args.waiting} waiting + {args.decided} decided in the big course; 25 + 10 in the baseline)")  # fmt: skip
    client = Client()
    client.force_login(small_teacher)
    base_t, base_q, base_s = time_get(client, reverse("review:queue", args=[small.pk]), args.runs)
    base = summary("queue page, 25 waiting (baseline)", base_t, base_q, base_s)
    client.force_login(big_teacher)
    page_t, page_q, page_s = time_get(client, reverse("review:queue", args=[big.pk]), args.runs)
    med = summary(f"queue page, {args.waiting} waiting", page_t, page_q, page_s, base)
    api_t, api_q, api_s = time_get(client, reverse("review-api-queue", args=[big.pk]), args.runs)
    summary(f"queue API, {args.waiting} waiting", api_t, api_q, api_s, base)
    last = reverse("review:queue", args=[big.pk]) + f"?status=waiting&page={-(-args.waiting // 25)}"
    last_t, last_q, last_s = time_get(client, last, args.runs)
    summary("queue page, last page", last_t, last_q, last_s, base)
    print(f"target: median < 300 ms for the {args.waiting}-submission queue page -> {'MET' if med < 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
