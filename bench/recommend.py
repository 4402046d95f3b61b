"""Offline evaluation and speed of the recommender. Prints figures; not a test.

Parts (``--part``, default all):

- ``sim``: simulated learners (recommender/simulate.py). Every policy runs on the same
  simulated students with the same pre-drawn answer noise; we report the mean gain in TRUE
  mastery after ``--steps`` activities, and ratios against random, popularity and
  "weakest skill first" measured in the same run, with 95% bootstrap intervals (paired by
  student). Graph seed 1 was used while designing the ranking; seeds 2.. are held out.
- ``ask``: "ask the course" on the demo school's resources (eduai/demo/content.py) and the
  questions of recommender/eval_questions.py, through the production code path (index +
  services.course_answer) in a throwaway SQLite database: recall@3 of the expected resource,
  and the share of unanswerable questions answered "not found"; dev and held-out test halves.
- ``speed``: a course with ``--students`` students and their activity in a throwaway database:
  time to refresh all of them in one batch, and p50/p95 of serving one student's
  recommendations from the cache (api.recommendations_for, as the page and the REST API do).

Run:  .venv/bin/python bench/recommend.py [--part sim|ask|speed] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# --- Simulated learners ------------------------------------------------------------------------


def _boot_ratio(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    idx = rng.integers(0, len(a), size=(n, len(a)))
    ratios = a[idx].mean(axis=1) / b[idx].mean(axis=1)
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def part_sim(args: argparse.Namespace) -> dict:
    from recommender import simulate as sim

    seeds = [1] if args.quick else [1, 2, 3, 4]
    n = 100 if args.quick else args.learners
    print(f"\n== Simulated learners: {n} students per graph, {args.steps} steps, graph seeds {seeds} ==")
    print("   (seed 1 was used while designing the ranking; 2.. are held out)")
    totals: dict[str, list[np.ndarray]] = {}
    rng = np.random.default_rng(0)
    for seed in seeds:
        course = sim.make_course(seed)
        profile = sim.cohort_profile(course, n=300 if not args.quick else 120, steps=args.steps, seed=seed + 1000)
        thetas = sim.make_population(course, n, seed + 2000)
        policies = {
            "random": sim.policy_random,
            "popularity": sim.make_policy_popularity(profile),
            "weakest-skill-first": sim.policy_weakest,
            "weakest + 0.7 band": sim.policy_weakest_in_band,
            "eduai": sim.make_policy_eduai(course, profile),
            "eduai (no CF profile)": sim.make_policy_eduai(course, None),
        }
        gains = {}
        t0 = time.perf_counter()
        for name, policy in policies.items():
            g, _ = sim.run_policy(course, thetas, policy, steps=args.steps, seed=seed + 3000, profile=profile)
            gains[name] = g
            totals.setdefault(name, []).append(g)
        held = "design" if seed == 1 else "held out"
        row = "  ".join(f"{k}={v.mean():.4f}" for k, v in gains.items())
        print(f"  seed {seed} ({held}), {time.perf_counter() - t0:.1f}s: mean true-mastery gain {row}")
    out = {}
    print("  Pooled over graphs (mean gain; ratio of eduai to each baseline, 95% paired bootstrap CI):")
    eduai = np.concatenate(totals["eduai"])
    for name, parts in totals.items():
        g = np.concatenate(parts)
        line = f"    {name:24s} gain {g.mean():.4f}"
        if name != "eduai":
            lo, hi = _boot_ratio(eduai, g, rng)
            ratio = eduai.mean() / g.mean()
            out[name] = ratio
            line += f"   eduai / {name} = {ratio:.2f}x  [{lo:.2f}, {hi:.2f}]"
        print(line)
    held_out = [s for s in seeds if s != 1]
    if held_out:
        idx = [seeds.index(s) for s in held_out]
        e = np.concatenate([totals["eduai"][i] for i in idx])
        for base in ("random", "weakest-skill-first"):
            b = np.concatenate([totals[base][i] for i in idx])
            print(f"    held-out graphs only: eduai / {base} = {e.mean() / b.mean():.2f}x")
    return out


# --- Django in a throwaway database ------------------------------------------------------------


def _django(tmp: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _school():
    from eduai.courses import services as cs

    return cs.school_create(name="Bench school", slug=f"bench-{time.time_ns()}")


# --- Ask the course ------------------------------------------------------------------------------


def part_ask(args: argparse.Namespace) -> dict:
    from eduai.courses.models import Course, LearningResource
    from eduai.demo import content
    from recommender import services, sources
    from recommender.eval_questions import QUESTIONS

    print("\n== Ask the course: demo resources, recommender/eval_questions.py ==")
    print(f"   encoder (English): {sources.encoder_name('en') or 'none (lexical only)'}; Chinese: lexical")
    school = _school()
    courses = {}
    for spec in content.COURSES:
        courses[spec.code] = Course.objects.create(
            school=school, code=spec.code, title=spec.title, language=spec.language
        )
    # A harder setting too: every question searched over the whole school's resources at once.
    courses["POOL"] = Course.objects.create(school=school, code="POOL", title="All demo resources", language="en")
    titles = {}
    for r in content.RESOURCES:
        for code in (r.course, "POOL"):
            obj = LearningResource.objects.create(
                course=courses[code], title=r.title, body=r.body, kind=r.kind, difficulty=r.difficulty
            )
            titles[(code, r.title)] = obj.pk
    t0 = time.perf_counter()
    for c in courses.values():
        services.course_index(course_id=c.pk)
    print(f"   indexed {len(titles)} resources in {time.perf_counter() - t0:.1f}s")
    rows = []
    pooled = []
    skipped = 0
    latencies = []
    for q in QUESTIONS:
        if q.expected is not None and (q.course, q.expected) not in titles:
            skipped += 1
            continue
        t = time.perf_counter()
        answer = services.course_answer(course_id=courses[q.course].pk, text=services.question_clean(q.text))
        latencies.append(time.perf_counter() - t)
        got = [h.resource_id for h in answer.hits]
        expected = titles.get((q.course, q.expected)) if q.expected else None
        rows.append((q, answer, got, expected))
        answer = services.course_answer(course_id=courses["POOL"].pk, text=services.question_clean(q.text))
        expected = titles.get(("POOL", q.expected)) if q.expected else None
        pooled.append((q, answer, [h.resource_id for h in answer.hits], expected))
    if skipped:
        print(f"   {skipped} questions skipped: their resource is no longer in the demo content")

    def report(label: str, subset: list) -> dict:
        ans = [r for r in subset if r[0].expected is not None]
        una = [r for r in subset if r[0].expected is None]
        recall = sum(1 for q, a, got, e in ans if e in got[:3]) / max(1, len(ans))
        recall1 = sum(1 for q, a, got, e in ans if e in got[:1]) / max(1, len(ans))
        r_found = sum(1 for q, a, got, e in ans if e in got[:3] and a.found) / max(1, len(ans))
        nf = sum(1 for q, a, *_ in una if not a.found) / max(1, len(una))
        false_nf = sum(1 for q, a, *_ in ans if not a.found) / max(1, len(ans))
        print(
            f"   {label:18s} answerable {len(ans):3d}: recall@3 {recall:.2f} @1 {recall1:.2f} "
            f"(found and in top 3: {r_found:.2f}; "
            f"wrongly 'not found' {false_nf:.2f}) | unanswerable {len(una):2d}: 'not found' {nf:.2f}"
        )
        return {"recall@3": recall, "not_found": nf}

    out = {}
    for split in ("dev", "test"):
        out[split] = report(f"{split} half", [r for r in rows if r[0].split == split])
    out["all"] = report("all", rows)
    for lang, codes in (("English", {"MATH9", "ENG9"}), ("Chinese", {"ZH9"})):
        report(f"  {lang}", [r for r in rows if r[0].course in codes])
    print(f"   Whole school pooled ({len(content.RESOURCES)} resources searched for every question):")
    out["pooled"] = report("pooled, all", pooled)
    report("pooled, test half", [r for r in pooled if r[0].split == "test"])
    lat = sorted(latencies)
    print(f"   answer latency: p50 {1000 * lat[len(lat) // 2]:.0f} ms, p95 {1000 * lat[int(len(lat) * 0.95)]:.0f} ms")
    if args.verbose:
        for q, a, got, e in rows:
            ok = (e in got[:3]) if e else (not a.found)
            print(
                f"   {'ok ' if ok else 'BAD'} {q.split} {q.course} {a.top_score:.2f} found={a.found!s:5} "
                f"{q.text[:60]} -> {[h.resource_title[:25] for h in a.hits][:3]}"
            )
    if args.sweep:
        sweep_thresholds(rows)
    return out


def sweep_thresholds(rows: list) -> None:
    """Share right on the dev half for a range of thresholds (how THRESHOLD_* were chosen)."""
    for semantic in (True, False):
        print(f"   threshold sweep on dev ({'semantic+lexical' if semantic else 'lexical only'}):")
        sub = [r for r in rows if r[0].split == "dev" and (r[0].course != "ZH9") == semantic]
        for th in np.arange(0.20, 0.70, 0.02):
            ans = [r for r in sub if r[0].expected is not None]
            una = [r for r in sub if r[0].expected is None]
            keep = sum(1 for q, a, got, e in ans if a.top_score >= th and e in got[:3]) / max(1, len(ans))
            nf = sum(1 for q, a, *_ in una if a.top_score < th) / max(1, len(una))
            print(f"     {th:.2f}: answered right {keep:.2f}, not-found right {nf:.2f}, mean {(keep + nf) / 2:.3f}")


# --- Speed -------------------------------------------------------------------------------------


def part_speed(args: argparse.Namespace) -> dict:
    import random
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from eduai.accounts.models import User
    from eduai.courses.models import (
        ActivityEvent,
        Assignment,
        Course,
        Enrollment,
        LearningResource,
        PracticeItem,
        Skill,
    )
    from eduai.demo import content
    from recommender import api, selectors, services, sources

    n = min(1000, args.students) if args.quick else args.students
    print(f"\n== Speed: {n} students, demo MATH9 skills/resources, ~24 events each ==")
    print(f"   signals: {sources.source_names()}")
    rng = random.Random(7)
    school = _school()
    course = Course.objects.create(school=school, code="MATH9", title="Maths", language="en")
    skills = {}
    for s in content.SKILLS:
        if s.course == "MATH9":
            skills[s.name] = Skill.objects.create(course=course, name=s.name, description=s.description)
    for s in content.SKILLS:
        if s.course == "MATH9":
            skills[s.name].prerequisites.set([skills[p] for p in s.prerequisites])
    resources = []
    for r in content.RESOURCES:
        if r.course == "MATH9":
            obj = LearningResource.objects.create(course=course, title=r.title, body=r.body, difficulty=r.difficulty)
            obj.skills.set([skills[x] for x in r.skills])
            resources.append(obj)
    items = []
    for skill in skills.values():
        for d in (0.2, 0.5, 0.8):
            item = PracticeItem.objects.create(course=course, title=f"{skill.name} {d}", difficulty=d)
            item.skills.add(skill)
            items.append(item)
    quiz = Assignment.objects.create(
        course=course, title="Linear equations quiz", prompt="-", due_at=timezone.now() + timedelta(days=4)
    )
    quiz.skills.add(skills["Linear equations"])
    t0 = time.perf_counter()
    users = User.objects.bulk_create([User(username=f"bench{i}", password="!") for i in range(n)], batch_size=2000)
    Enrollment.objects.bulk_create([Enrollment(course=course, user=u) for u in users], batch_size=2000)
    now = timezone.now()
    events = []
    for u in users:
        for k in range(24):
            ts = now - timedelta(hours=rng.randint(1, 24 * 40))
            if k % 12 == 0:
                r = rng.choice(resources)
                events.append(
                    ActivityEvent(
                        statement_id=uuid.uuid4(),
                        course=course,
                        actor=u,
                        verb="experienced",
                        object_type="resource",
                        resource=r,
                        timestamp=ts,
                    )
                )
            else:
                it = rng.choice(items)
                events.append(
                    ActivityEvent(
                        statement_id=uuid.uuid4(),
                        course=course,
                        actor=u,
                        verb="answered",
                        object_type="practice_item",
                        practice_item=it,
                        result_success=rng.random() < 0.6,
                        timestamp=ts,
                    )
                )
        if len(events) > 50000:
            ActivityEvent.objects.bulk_create(events, batch_size=5000)
            events = []
    ActivityEvent.objects.bulk_create(events, batch_size=5000)
    print(f"   setup {time.perf_counter() - t0:.1f}s ({ActivityEvent.objects.count()} events)")
    # The events were bulk-inserted (no signals): let the knowledge tracer fold them in, as it
    # would have one by one in production, so mastery and predictions have evidence behind them.
    record = sources._optional("assessment.api", "record_events")
    if record is not None and not args.no_evidence:
        t0 = time.perf_counter()
        ids = list(ActivityEvent.objects.order_by("id").values_list("id", flat=True))
        for start in range(0, len(ids), 20000):
            record(event_ids=ids[start : start + 20000])
        print(
            f"   assessment.api.record_events over all events: {time.perf_counter() - t0:.1f}s (setup, not timed below)"
        )
    t0 = time.perf_counter()
    services.course_index(course_id=course.pk)
    print(f"   index {len(resources)} resources: {time.perf_counter() - t0:.1f}s")

    # The knowledge tracer's public contract is per student (mastery_for_student,
    # predicted_success). Time it on a sample, then run the full batch with the bulk reader
    # (assessment's mastery_for_students when it has one, else the recommender's fallback
    # estimate from the same events, read in bulk).
    installed = sources._optional
    per_student = None
    if installed("assessment.api", "mastery_for_student") is not None:
        sample_ids = [u.pk for u in users[:200]]
        t0 = time.perf_counter()
        sources.mastery_for_students(student_ids=sample_ids, course_id=course.pk)
        items_ids = [i.pk for i in items]
        for sid in sample_ids:
            sources.predicted_success(student_id=sid, course_id=course.pk, item_ids=items_ids)
        per_student = (time.perf_counter() - t0) / len(sample_ids)
        print(
            f"   assessment.api as installed: {1000 * per_student:.0f} ms per student for mastery + predicted "
            f"success -> {per_student * n:.0f}s for {n} students through the per-student contract"
        )
    bulk_available = installed("assessment.api", "mastery_for_students") is not None
    if not bulk_available:
        sources._optional = lambda module, name: None if module == "assessment.api" else installed(module, name)
        print("   full batch below: mastery from the recommender's bulk fallback estimate (no bulk tracer API)")
    # Time spent inside the other apps' readers, to tell it from the recommender's own work.
    spent: dict[str, float] = {}
    originals = {}
    for name in ("mastery_for_students", "predicted_success_for_students", "weak_traits_for_student"):
        originals[name] = getattr(sources, name)

        def timed(*a, _name=name, **kw):
            t = time.process_time()
            try:
                return originals[_name](*a, **kw)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.process_time() - t

        setattr(sources, name, timed)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        services.course_profile_rebuild(course_id=course.pk)
        t_profile, c_profile = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        refreshed, _ = services.recommendations_refresh(course_id=course.pk, rebuild_profile=False)
        t_refresh, c_refresh = time.perf_counter() - t0, time.process_time() - c0
    finally:
        sources._optional = installed
        for name, fn in originals.items():
            setattr(sources, name, fn)
    print(
        f"   batch refresh of {refreshed} students: {t_refresh:.1f}s wall, {c_refresh:.1f}s CPU "
        f"(+ course profile rebuild {t_profile:.1f}s wall, {c_profile:.1f}s CPU) "
        f"= {t_refresh + t_profile:.1f}s wall total"
    )
    other = sum(spent.values())
    print(
        "   CPU inside the tracer/grading readers: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in spent.items())
        + f"; the recommender's own CPU: {c_refresh + c_profile - other:.1f}s"
    )

    sample = rng.sample(users, min(300, len(users)))
    times = []
    for u in sample:
        u = User.objects.get(pk=u.pk)  # a fresh request's user: no cached access data
        t = time.perf_counter()
        result = api.recommendations_for(user=u, course_id=course.pk)
        times.append(time.perf_counter() - t)
        assert result.items
    times.sort()
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    print(f"   one student's recommendations from cache (api): p50 {1000 * p50:.1f} ms, p95 {1000 * p95:.1f} ms")
    t_sel = []
    for u in sample:
        t = time.perf_counter()
        selectors.cached_recommendations(student_id=u.pk, course_id=course.pk)
        t_sel.append(time.perf_counter() - t)
    t_sel.sort()
    print(f"   ... of which the cache read + hide/delete filter: p95 {1000 * t_sel[int(len(t_sel) * 0.95)]:.1f} ms")
    one = []
    for u in sample[:30]:
        t = time.perf_counter()
        services.recommendations_refresh(course_id=course.pk, student_ids=[u.pk])
        one.append(time.perf_counter() - t)
    print(f"   one student's debounced refresh (rank + store): median {1000 * statistics.median(one):.0f} ms")
    print(f"   load average during the run: {os.getloadavg()[0]:.1f} (2 cores; other work shares them)")
    return {"refresh_s": t_refresh + t_profile, "p95_ms": 1000 * p95, "tracer_s_per_student": per_student}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["sim", "ask", "speed", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--learners", type=int, default=400)
    parser.add_argument("--students", type=int, default=10000)
    parser.add_argument("--no-evidence", action="store_true", help="speed: skip feeding the events to the tracer")
    parser.add_argument("--verbose", action="store_true", help="ask: one line per question")
    parser.add_argument("--sweep", action="store_true", help="ask: threshold sweep on the dev half")
    args = parser.parse_args()
    if args.part in ("sim", "all"):
        part_sim(args)
    if args.part in ("ask", "speed", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            _django(tmp)
            if args.part in ("ask", "all"):
                part_ask(args)
            if args.part in ("speed", "all"):
                part_speed(args)


if __name__ == "__main__":
    main()
