"""The simulated learners are a fair testbed, and 'what helped similar students' credits the
resource that helped, not the one that happened to come before ordinary practice."""

from __future__ import annotations

import numpy as np

from recommender import cf
from recommender import simulate as sim
from recommender.cf import Touch


def test_same_population_and_noise_for_every_policy():
    course = sim.make_course(5, n_skills=6)
    thetas = sim.make_population(course, 20, seed=9)
    assert np.array_equal(thetas, sim.make_population(course, 20, seed=9))
    # a policy that always does the same thing gives the same result twice (noise is pre-drawn)
    fixed = lambda course_, learner, t, rng: 0  # noqa: E731
    g1, _ = sim.run_policy(course, thetas, fixed, steps=10, seed=3)
    g2, _ = sim.run_policy(course, thetas, fixed, steps=10, seed=3)
    assert np.array_equal(g1, g2)


def test_prerequisites_gate_learning_in_the_true_process():
    course = sim.make_course(2, n_skills=6)
    k = next(i for i, pre in enumerate(course.prereqs) if pre)
    item = int(np.where(course.item_skill == k)[0][0])
    weak = np.zeros(course.n_skills)
    weak[:] = -2.0
    strong = weak.copy()
    for j in course.prereqs[k]:
        strong[j] = 2.0
    gains = []
    for theta0 in (weak, strong):
        theta0 = theta0.copy()
        theta0[k] = course.item_b[item] - 1.0  # the item sits in the learner's zone of proximal development
        learner = sim.new_learner(course, theta0)
        before = learner.theta[k]
        sim.step(course, learner, item, 0.5, 0)
        gains.append(learner.theta[k] - before)
    assert gains[1] > 3 * gains[0] > 0


def test_eduai_policy_beats_random_and_weakest_first_on_a_small_population():
    # given one simulated course and 60 students (the full comparison is bench/recommend.py)
    course = sim.make_course(3)
    profile = sim.cohort_profile(course, n=60, steps=20, seed=11)
    thetas = sim.make_population(course, 60, seed=12)
    results = {}
    for name, policy in (
        ("random", sim.policy_random),
        ("weakest", sim.policy_weakest),
        ("eduai", sim.make_policy_eduai(course, profile)),
    ):
        gains, _ = sim.run_policy(course, thetas, policy, steps=20, seed=13, profile=profile)
        results[name] = gains.mean()
    assert results["eduai"] > 1.3 * results["random"]
    assert results["eduai"] > 1.1 * results["weakest"]


def test_cf_credits_the_resource_followed_by_gains_beyond_practice_alone():
    skills_of = {"resource:1": [7], "resource:2": [7], "practice:9": [7]}
    wrong, right = Touch("practice:9", 0.0), Touch("practice:9", 1.0)
    histories = {}
    # 40 students: resource 1 is followed by a jump from wrong to right; resource 2 by no change
    for s in range(40):
        histories[s] = [
            wrong,
            wrong,
            wrong,
            Touch("resource:1"),
            right,
            right,
            right,
            Touch("resource:2"),
            right,
            right,
        ]
    profile = cf.build_profile(
        histories=histories, mastery={s: {7: 0.5} for s in histories}, skill_ids=[7], skills_of=skills_of
    )
    helped = profile["help"]["0"]
    # raw gain 1.0 minus the baseline (0.76: practice around this jump also 'gains'), shrunk
    assert 0.15 < helped["resource:1"][0] < 0.25
    assert helped["resource:2"][0] < 0 < helped["resource:1"][0]
    assert profile["popularity"]["resource:1"] == 40


def test_cf_shrinks_a_single_lucky_student_towards_zero():
    skills_of = {"resource:1": [7], "practice:9": [7]}
    one = {0: [Touch("practice:9", 0.0), Touch("resource:1"), Touch("practice:9", 1.0)]}
    profile = cf.build_profile(histories=one, mastery={0: {7: 0.4}}, skill_ids=[7], skills_of=skills_of)
    gain, n = profile["help"]["0"]["resource:1"]
    assert n == 1 and 0 < gain < 0.2  # raw gain was 1.0; pseudo-count 10 at both levels


def test_students_are_clustered_by_mastery_and_assigned_to_the_nearest():
    rng = np.random.default_rng(0)
    mastery = {}
    for s in range(120):
        low = s < 60
        mastery[s] = {1: float(rng.normal(0.2 if low else 0.9, 0.05)), 2: float(rng.normal(0.5, 0.05))}
    profile = cf.build_profile(histories={}, mastery=mastery, skill_ids=[1, 2], skills_of={})
    assert len(profile["centroids"]) == 4
    low_cluster = cf.assign_cluster(profile, {1: 0.2, 2: 0.5})
    high_cluster = cf.assign_cluster(profile, {1: 0.9, 2: 0.5})
    assert low_cluster != high_cluster
    assert cf.assign_cluster({}, {1: 0.2}) is None
