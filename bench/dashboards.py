"""Server-side render time of the dashboards at school scale, on PostgreSQL. Prints figures.

Generated data, in a throwaway database (dropped at the end unless ``--keep``):

- one school of 50 courses and 5,000 students; course 1 has 500 students, 50 skills and
  200,000 learning events, the other 49 share the other 4,500 students and 1,800,000 events
  (2,000,000 in all), 10 skills each;
- per course 5 essay assignments, one submission per student and assignment (25,000), two
  model versions with proposals, teacher grades and releases (30% by the auto-release policy),
  a failed training run on every tenth assignment;
- mastery of every student on every skill of their course, 200,000 mastery-history points in
  course 1, and a cached list of 10 recommendations per student.

Rows are generated inside PostgreSQL (``INSERT ... SELECT generate_series``): a few tens of
seconds, no Python loop over rows. Then each page is requested ``--runs`` times through the
Django test client (whole request: middleware, queries, figures, template) after one warm-up
request, and the median is reported with the course overview page (/courses/1/) measured in
the same run as the baseline. Targets (issue 7): course dashboard < 300 ms, school < 2 s.
A page is rendered with its figures except the slow ones, which the browser fetches from their
own URLs once the page is shown; those are timed on their own lines (a page's total server
work is the page plus its deferred panels; the browser fetches them concurrently).

Run:  .venv/bin/python bench/dashboards.py [--runs 7] [--scale 0.1] [--keep] [--panels]
Needs a local PostgreSQL at 127.0.0.1:5432 with trust auth (user postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"


def sql_statements(scale: float) -> list[tuple[str, str]]:
    """(label, SQL) in order. ``scale`` shrinks every count (0.1 for a quick run)."""
    n_courses = 50
    big = max(10, int(500 * scale))  # students of course 1
    others = max(49, int(4500 * scale))  # students of the other 49 courses
    students = big + others
    big_events = int(200_000 * scale)
    other_events = int(1_800_000 * scale)
    big_history = int(200_000 * scale)
    s0 = 101  # first student id; 1 = admin, 2..51 = teachers
    # skills: course 1 has ids 1..50, course c > 1 has 51 + (c-2)*10 .. +9
    course_of = f"(CASE WHEN u <= {s0 + big - 1} THEN 1 ELSE 2 + (u - {s0 + big}) % 49 END)"
    n_skills = f"(CASE WHEN {course_of} = 1 THEN 50 ELSE 10 END)"
    skill_base = f"(CASE WHEN {course_of} = 1 THEN 1 ELSE 51 + ({course_of} - 2) * 10 END)"
    return [
        (
            "school, courses, people",
            f"""
INSERT INTO courses_school (id, name, slug, created_at) VALUES (1, 'Bench High', 'bench', now());
INSERT INTO courses_course (id, school_id, code, title, description, language, is_active, created_at)
  SELECT c, 1, 'C' || lpad(c::text, 2, '0'), 'Course ' || c, '', 'en', true, now() FROM generate_series(1,
    {n_courses}) c;
INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                           date_joined, display_name, language, external_id)
  SELECT u, '!', false, 'user' || u, 'First' || u, 'Last' || u, '', false, true, now(), '', '', ''
  FROM generate_series(1, 51) u
  UNION ALL
  SELECT u, '!', false, 'user' || u, 'First' || u, 'Last' || u, '', false, true, now(), '', '', ''
  FROM generate_series({s0}, {s0 + students - 1}) u;
INSERT INTO courses_schoolmembership (school_id, user_id, is_admin) VALUES (1, 1, true);
INSERT INTO courses_enrollment (course_id, user_id, role, language_background, is_active, created_at)
  SELECT c, c + 1, 'teacher', '', true, now() - interval '200 days' FROM generate_series(1, {n_courses}) c
  UNION ALL
  SELECT {course_of}, u, 'student', CASE WHEN u % 3 = 0 THEN 'zh' ELSE 'en' END, true, now() - interval '200 days'
  FROM generate_series({s0}, {s0 + students - 1}) u;
""",
        ),
        (
            "skills, items, resources, assignments",
            f"""
INSERT INTO courses_skill (id, course_id, name, description)
  SELECT k, 1, 'Skill ' || k, '' FROM generate_series(1, 50) k
  UNION ALL
  SELECT 51 + (c - 2) * 10 + k, c, 'Skill ' || (k + 1), '' FROM generate_series(2, {n_courses}) c,
    generate_series(0, 9) k;
INSERT INTO courses_practiceitem (id, course_id, title, body, answer, difficulty, external_id)
  SELECT s.id * 2 + j, s.course_id, 'Item ' || s.id || '.' || j, '', '', 0.5, '' FROM courses_skill s,
    generate_series(0, 1) j;
INSERT INTO courses_practiceitem_skills (practiceitem_id, skill_id) SELECT id, id / 2 FROM courses_practiceitem;
INSERT INTO courses_learningresource (id, course_id, title, body, url, kind, difficulty, language, is_active,
                                      external_id, created_at)
  SELECT (c - 1) * 20 + r, c, 'Resource ' || r, '', '', 'reading', 0.5, 'en', true, '', now()
  FROM generate_series(1, {n_courses}) c, generate_series(1, 20) r;
INSERT INTO courses_assignment (id, course_id, title, kind, prompt, min_score, max_score, language, release_policy,
                                auto_release_max_interval, auto_release_min_qwk, is_published, created_at, due_at)
  SELECT (c - 1) * 5 + k, c, 'Essay ' || k, 'essay', 'Write.', 0, 6, '', 'auto_release_confident', 1.0, 0.7, true,
         now(), now() - (k * 15) * interval '1 day'
  FROM generate_series(1, {n_courses}) c, generate_series(1, 5) k;
""",
        ),
        (
            "submissions, models, proposals, grades, releases",
            f"""
INSERT INTO courses_submission (id, assignment_id, author_id, text, attempt, language, status, status_reason,
                                submitted_at, updated_at, final_score, source)
  SELECT (u - {s0}) * 5 + k, ({course_of} - 1) * 5 + k, u, 'An essay.', 1, 'en',
         CASE WHEN h < 60 THEN 'released' WHEN h < 70 THEN 'reviewed' WHEN h < 90 THEN 'scored'
              WHEN h < 95 THEN 'received' ELSE 'failed' END, '',
         now() - ((u * 7 + k * 13) % 90) * interval '1 day', now(),
         CASE WHEN h < 70 THEN (u + k) % 7 END, 'api'
  FROM generate_series({s0}, {s0 + students - 1}) u, generate_series(1, 5) k,
       LATERAL (SELECT (u * 31 + k * 17) % 100 AS h) hh;
INSERT INTO grading_gradingmodel (id, assignment_id, version, method, status, is_active, language, base_model,
    embedding_key, hyperparameters, n_train, n_val, trait_metrics, artefact, trigger, failure_reason, decision,
    created_at, val_qwk, train_seconds)
  SELECT a * 3 + v, a, v, 'fast', CASE WHEN v = 3 THEN 'failed' ELSE 'ready' END, v = 2, 'en', '', '', '{{}}',
         40 * v, 10, '{{}}', '', 'threshold', CASE WHEN v = 3 THEN 'out of memory' ELSE '' END, '',
         now() - (60 - 25 * v) * interval '1 day', CASE WHEN v < 3 THEN 0.6 + 0.05 * v END, 3.0 * v
  FROM generate_series(1, {n_courses * 5}) a, generate_series(1, 3) v WHERE v < 3 OR a % 10 = 0;
INSERT INTO grading_prediction (submission_id, model_id, score, raw_score, trait_scores, interval_low, interval_high,
                                interval_coverage, seconds, created_at)
  SELECT s.id, s.assignment_id * 3 + v, LEAST(6, GREATEST(0, COALESCE(s.final_score, 3) + (s.id % 3) - 1 + v - 2)),
         3.0, '{{}}', 2.0, 4.0, 0.9, 0.02 + (s.id % 10) / 100.0, s.submitted_at + interval '1 minute' * v
  FROM courses_submission s, generate_series(1, 2) v
  WHERE s.status NOT IN ('received', 'failed') AND (v = 2 OR s.id % 10 < 7);
INSERT INTO grading_teachergrade (submission_id, assignment_id, score, trait_scores, source, comment, created_at,
                                  updated_at, prediction_id, grader_id)
  SELECT s.id, s.assignment_id, s.final_score, '{{}}', 'teacher', '', s.submitted_at + interval '2 days',
         s.submitted_at + interval '2 days', p.id, NULL
  FROM courses_submission s JOIN grading_prediction p ON p.submission_id = s.id AND p.model_id = s.assignment_id * 3 + 2
  WHERE s.final_score IS NOT NULL AND s.id % 10 >= 3;
INSERT INTO review_graderelease (submission_id, assignment_id, course_id, score, trait_scores, kind, reason, feedback,
                                 comment, show_evidence, evidence, released_at, updated_at)
  SELECT s.id, s.assignment_id, a.course_id, s.final_score, '{{}}',
    CASE WHEN s.id % 10 < 3 THEN 'policy' ELSE 'teacher' END,
         '', '[]', '', false, '[]', s.submitted_at + interval '2 days', now()
  FROM courses_submission s JOIN courses_assignment a ON a.id = s.assignment_id WHERE s.status = 'released';
""",
        ),
        (
            "events (2,000,000 at full scale)",
            f"""
-- Bulk load without per-row work: secondary indexes are dropped and rebuilt once after the
-- load, and foreign-key triggers are skipped (the ids are generated consistent above).
CREATE TEMP TABLE bench_indexes AS
  SELECT i.indexname, i.indexdef FROM pg_indexes i
  WHERE i.tablename = 'courses_activityevent'
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
SET session_replication_role = replica;
INSERT INTO courses_activityevent (statement_id, course_id, actor_id, verb, object_type, object_iri, practice_item_id,
    resource_id, result_success, result_response, timestamp, stored_at, voided, raw)
  SELECT gen_random_uuid(), 1, {s0} + g % {big}, 'http://adlnet.gov/expapi/verbs/answered', 'practice_item', '',
         2 * (1 + (g / {big}) % 50) + g % 2, NULL, (g * 7) % 10 < 6, '',
         now() - ((g * 2654435761) % (180 * 86400)) * interval '1 second', now(), false, '{{}}'
  FROM generate_series(0, {big_events - 1}) g;
INSERT INTO courses_activityevent (statement_id, course_id, actor_id, verb, object_type, object_iri, practice_item_id,
    resource_id, result_success, result_response, timestamp, stored_at, voided, raw)
  SELECT gen_random_uuid(), 2 + (st - {s0 + big}) % 49, st, 'http://adlnet.gov/expapi/verbs/answered',
    'practice_item', '',
         CASE WHEN g % 5 = 0 THEN NULL ELSE 2 * (51 + ((st - {s0 + big}) % 49) * 10 + (g / 7) % 10) + g % 2 END,
         CASE WHEN g % 5 = 0 THEN (1 + (st - {s0 + big}) % 49) * 20 + 1 + g % 20 END, (g * 7) % 10 < 6, '',
         now() - ((g * 2654435761) % (180 * 86400)) * interval '1 second', now(), false, '{{}}'
  FROM generate_series(0, {other_events - 1}) g, LATERAL (SELECT {s0 + big} + g % {others} AS st) x;
SET session_replication_role = DEFAULT;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM bench_indexes LOOP EXECUTE r.indexdef; END LOOP;
END $$;
DROP TABLE bench_indexes;
""",
        ),
        (
            "mastery, history, recommendation lists",
            f"""
INSERT INTO assessment_mastery (student_id, course_id, skill_id, p, trend, recent, n_evidence, method, as_of,
    updated_at)
  SELECT u, {course_of}, {skill_base} + k, ((u * 37 + k * 101) % 100) / 100.0, 0.0, '[]', 1 + (u + k) % 9, 'bkt',
         now() - ((u + k) % 30) * interval '1 day', now()
  FROM generate_series({s0}, {s0 + students - 1}) u, generate_series(0, 49) k WHERE k < {n_skills};
INSERT INTO assessment_masteryhistory (student_id, course_id, skill_id, p, method, at)
  SELECT {s0} + g % {big}, 1, 1 + (g / {big}) % 50, ((g * 37) % 100) / 100.0, 'bkt',
         now() - ((g * 2654435761) % (180 * 86400)) * interval '1 second'
  FROM generate_series(0, {big_history - 1}) g;
INSERT INTO recommender_recommendationset (student_id, course_id, items, cold_start, computed_at)
  SELECT u, {course_of},
         (SELECT jsonb_agg(jsonb_build_object('kind', 'resource', 'id', ({course_of} - 1) * 20 + 1 + (u + r) % 20,
                 'title', 'Resource ' || (1 + (u + r) % 20), 'score', 1.0 - r / 20.0, 'reasons', '[]'::jsonb,
                 'skill_ids', '[]'::jsonb))
          FROM generate_series(0, 9) r), false, now()
  FROM generate_series({s0}, {s0 + students - 1}) u;
""",
        ),
        (
            "identity sequences and statistics",
            """
DO $$ DECLARE t text; BEGIN
  FOR t IN SELECT table_name FROM information_schema.columns WHERE column_name = 'id' AND is_identity = 'YES'
           AND table_schema = 'public' LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), COALESCE((SELECT max(id) FROM %I),
    0) + 1, false)', t, t);
  END LOOP; END $$;
ANALYZE;
""",
        ),
    ]


def timed(label: str, fn, runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds of each run; ``cpu`` (if given) receives this process's CPU milliseconds
    (Python, pandas, Plotly; the database's work is in the PostgreSQL server's processes)."""
    fn()  # warm-up: imports, first-request caches
    times = []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
        if cpu is not None:
            cpu.append((time.process_time() - c) * 1000.0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page (median reported)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every count (0.1: a quick run)")
    parser.add_argument("--db", default="eduai_bench_dashboards", help="throwaway database name")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (and reuse it if present)")
    parser.add_argument("--panels", action="store_true", help="also time each panel of the course page")
    args = parser.parse_args()

    import psycopg

    admin = psycopg.connect(f"{PG}/postgres", autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,)).fetchone() is not None
    reuse = exists and args.keep
    if not reuse:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        admin.execute(f'CREATE DATABASE "{args.db}"')
    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    try:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrate: {time.perf_counter() - t:.1f} s")
        if not reuse:
            total = time.perf_counter()
            with connection.cursor() as cur:
                for label, sql in sql_statements(args.scale):
                    t = time.perf_counter()
                    cur.execute(sql)
                    print(f"generate {label}: {time.perf_counter() - t:.1f} s")
            print(f"generate total: {time.perf_counter() - total:.1f} s")
        with connection.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM courses_activityevent), (SELECT count(*) FROM accounts_user),"
                " (SELECT count(*) FROM courses_submission),"
                " (SELECT count(*) FROM courses_skill WHERE course_id = 1),"
                " (SELECT count(*) FROM courses_enrollment WHERE course_id = 1 AND role = 'student'),"
                " (SELECT count(*) FROM courses_activityevent WHERE course_id = 1)"
            )
            events, users, subs, skills1, students1, events1 = cur.fetchone()
        print(f"data: {events:,} events, {users:,} users, {subs:,} submissions; course 1: {students1} students, "
              f"{skills1} skills, {events1:,} events")  # fmt: skip

        from eduai.accounts.models import User

        teacher, school_admin = User.objects.get(pk=2), User.objects.get(pk=1)
        as_teacher, as_admin = Client(), Client()
        as_teacher.force_login(teacher)
        as_admin.force_login(school_admin)

        def get(client: Client, url: str):
            def go() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            return go

        from eduai.dashboards.services import risk_snapshots_refresh

        t = time.perf_counter()
        risk_snapshots_refresh(course_ids=list(range(1, 51)), now=timezone.now())
        print(f"at-risk snapshots of 50 courses (periodic task, assessment's scoring): {time.perf_counter() - t:.1f} s")

        deferred = "  deferred panel, fetched after the page:"
        pages = [
            ("baseline: course overview /courses/1/", as_teacher, "/courses/1/", None),
            ("course dashboard (500 students, 50 skills, 200k events)", as_teacher, "/dashboards/courses/1/", 300.0),
            *[
                (f"{deferred} {key}", as_teacher, f"/dashboards/courses/1/panel/{key}/", None)
                for key in ("mastery_time", "risk")
            ],
            ("student page (one student of course 1)", as_teacher, f"/dashboards/courses/1/students/{101}/", None),
            ("school analytics (50 courses, 5,000 students, 2M events)", as_admin, "/dashboards/schools/1/", 2000.0),
            *[
                (f"{deferred} {key}", as_admin, f"/dashboards/schools/1/panel/{key}/", None)
                for key in ("active", "activity", "agreement", "fairness_language", "fairness_length")
            ],
        ]
        print(f"\nmedian of {args.runs} requests after one warm-up (wall ms; cpu: this process); scale {args.scale}")
        base = None
        for label, client, url, target in pages:
            cpu: list[float] = []
            times = timed(label, get(client, url), args.runs, cpu)
            med = statistics.median(times)
            base = base or med
            verdict = "" if target is None else ("  OK" if med < target else "  OVER")
            goal = f" (target < {target:.0f} ms)" if target else ""
            print(
                f"  {label:60s} {med:8.1f}  cpu {statistics.median(cpu):7.1f}  min {min(times):7.1f}  "
                f"max {max(times):7.1f}  x{med / base:5.1f} baseline{goal}{verdict}"
            )

        if args.panels:
            from eduai.courses.models import Course
            from eduai.dashboards import panels, school, sources

            print("\nper panel, course 1 (median ms):")
            course = Course.objects.get(pk=1)
            for key, build in panels.COURSE.items():
                ctx = lambda b=build: b(panels.CourseContext(user=teacher, course=course, now=sources.now()))  # noqa: E731
                cpu = []
                times = timed(key, ctx,
                              max(3, args.runs // 2), cpu)  # fmt: skip
                print(f"  {key:24s} {statistics.median(times):8.1f}  cpu {statistics.median(cpu):7.1f}")
            print("per panel, school (median ms):")
            from eduai.courses.models import School

            s = School.objects.get(pk=1)
            for key, build_school in school.PANELS.items():
                ctx = lambda b=build_school: b(school.SchoolContext(user=school_admin, school=s, now=sources.now()))  # noqa: E731
                cpu = []
                times = timed(key, ctx,
                              max(3, args.runs // 2), cpu)  # fmt: skip
                print(f"  {key:24s} {statistics.median(times):8.1f}  cpu {statistics.median(cpu):7.1f}")
    finally:
        connection.close()
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
