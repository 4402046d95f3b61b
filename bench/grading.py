"""Benchmark of the grading engine on the research essays (never copied into the repo).

    python bench/grading.py                       # fast scorer on ASAP + ACEA, length baseline, 50-essay run
    python bench/grading.py --method finetune --ft-train 300 --ft-test 150 --ft-epochs 2 --ft-max-length 256
    python bench/grading.py --memory               # worker RSS with 10 assignment models loaded
    python bench/grading.py --precision-check      # int8 vs fp32 embeddings: QWK and throughput
    python bench/grading.py --datasets asap --fast-select   # choose fast-scorer changes (test fold unread)

Splits come from the ``fold`` column: the lowest fold of each file is the test set (ASAP: fold 1,
ACEA: fold 0), the other folds train. Each run goes through ``manage.py evaluate_grader``'s code
(grading/evaluation.py): a throwaway database, the production training service, the production
scoring path. A length-only regression (ridge on log word and character counts, rounded) is
measured in the same run on the same split as the baseline. Timings are wall-clock seconds and
CPU seconds of this process; on a shared machine the wall clock includes waiting for a core.
Peak memory is this process's maximum resident set (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")


def _setup() -> None:
    import django

    django.setup()


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(data_root: Path, name: str):
    import pandas as pd

    path = data_root / name / "essays_dev.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data pointing at the shared research data folder")
    return pd.read_csv(path)


def split_csv(
    df,
    folder: Path,
    tag: str,
    *,
    train_per_prompt: int | None = None,
    test_per_prompt: int | None = None,
    seed: int = 0,
) -> tuple[Path, object]:
    """Write an evaluation CSV (split from folds) into a temporary folder; returns it and the frame."""
    test_fold = df["fold"].min()
    df = df.copy()
    df["split"] = np.where(df["fold"] == test_fold, "test", "train")
    parts = []
    for _, g in df.groupby("prompt_id"):
        tr, te = g[g.split == "train"], g[g.split == "test"]
        if train_per_prompt and len(tr) > train_per_prompt:
            tr = tr.sample(train_per_prompt, random_state=seed)
        if test_per_prompt and len(te) > test_per_prompt:
            te = te.sample(test_per_prompt, random_state=seed)
        parts += [tr, te]
    import pandas as pd

    out = pd.concat(parts)
    keep = ["essay_id", "prompt_id", "text", "score", "min_score", "max_score", "split"]
    keep += [c for c in out.columns if c.startswith("trait_")]
    path = folder / f"{tag}.csv"
    out[keep].to_csv(path, index=False)
    return path, out


def length_baseline(frame) -> dict[str, float]:
    """Ridge on log word and character counts, rounded to the rubric: the 'length-only' baseline."""
    from sklearn.linear_model import Ridge

    from grading.scoring.base import qwk

    out = {}
    for pid, g in frame.groupby("prompt_id"):
        lo, hi = int(g.min_score.iloc[0]), int(g.max_score.iloc[0])
        x = np.column_stack([np.log1p(g.text.str.split().str.len()), np.log1p(g.text.str.len())])
        tr = (g.split == "train").to_numpy()
        model = Ridge(alpha=1.0).fit(x[tr], g.score.to_numpy()[tr])
        out[str(pid)] = qwk(g.score.to_numpy()[~tr], model.predict(x[~tr]), lo, hi)
    return out


def run_eval(path: Path, method: str, overrides: dict | None = None) -> dict:
    from grading.evaluation import evaluate_file

    return evaluate_file(
        path, method=method, finetune_overrides=overrides or {}, progress=False, log=lambda m: print(m, file=sys.stderr)
    )


def report(title: str, result: dict, baseline: dict[str, float]) -> None:
    print(f"\n== {title}")
    print(f"{'prompt':>8} {'n_train':>7} {'n_test':>6} {'QWK':>7} {'length':>7} {'coverage':>8} {'val_qwk':>7}")
    for pid, r in result["prompts"].items():
        cov = "-" if r["coverage"] is None else f"{r['coverage']:.3f}"
        val = "-" if r.get("val_qwk") is None else f"{r['val_qwk']:.3f}"
        print(
            f"{pid:>8} {r['n_train']:>7} {r['n_test']:>6} {r['qwk']:>7.4f} {baseline.get(pid, float('nan')):>7.4f} "
            f"{cov:>8} {val:>7}"
        )
    base_mean = float(np.mean([baseline[p] for p in result["prompts"]]))
    covs = [r["coverage"] for r in result["prompts"].values() if r["coverage"] is not None]
    print(
        f"mean QWK {result['mean_qwk']:.4f} (length-only {base_mean:.4f}; +{result['mean_qwk'] - base_mean:.4f}); "
        f"mean coverage {np.mean(covs):.3f} at stated 0.90"
    )
    print(
        f"train {result['train_seconds']:.1f} s wall / {result['train_cpu_seconds']:.1f} s CPU; "
        f"score {result['n_test']} essays in {result['score_seconds']:.1f} s wall / "
        f"{result['score_cpu_seconds']:.1f} s CPU = {result['essays_per_second']} essays/s; "
        f"arrival embeddings {result['embed_seconds']:.1f} s"
    )


def train_timing(df, runs: int = 3) -> None:
    """Median fast-scorer training time on the largest prompt, embeddings already stored."""
    from eduai import inference
    from grading.scoring.base import Rubric, TrainingSet
    from grading.scoring.fast import FastScorer
    from grading.serving import default_spec

    pid = df.groupby("prompt_id").size().idxmax()
    g = df[df.prompt_id == pid]
    spec = default_spec("en")
    assert spec is not None, "English always has an encoder"
    emb = inference.embed(spec, g.text.tolist())  # stored on arrival in production: not timed
    data = TrainingSet(
        ids=tuple(range(1, len(g) + 1)),
        texts=tuple(g.text),
        targets=g.score.to_numpy()[:, None] * 1.0,
        rubric=Rubric(int(g.min_score.iloc[0]), int(g.max_score.iloc[0])),
        embeddings=emb,
    )
    walls, cpus = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            w, c = time.perf_counter(), time.process_time()
            FastScorer.fit(data, Path(tmp))
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    print(f"\n== fast scorer training, prompt {pid}, {len(g)} essays with stored embeddings, {runs} runs")
    print(f"median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU (target <= 10 s)")


def throughput(df, runs: int = 3, n: int = 128, n_train: int = 100) -> None:
    """Scoring throughput from raw text to stored prediction (the worker's path: claim, embed,
    features, fast scorer, store), for the baseline (fp32 embeddings at 512 tokens) and this
    deployment's settings, on the same essays in the same run; then the encoder alone.

    Each configuration gets its own assignment, trained on ``n_train`` essays of the largest
    prompt; each run scores ``n`` fresh submissions in micro-batches of ``EDUAI_SCORING_BATCH``:
    the same essays drawn from the test fold of every prompt (ASAP lengths differ fourfold between
    prompts, and the encoder's cost follows length). Medians over ``runs``; CPU seconds are this process's (all
    threads), so other processes' load does not count: essays per CPU-second x 2 is what an
    otherwise idle 2-core machine would do with one single-threaded worker process per core."""
    from django.test import override_settings
    from django.utils import timezone

    from eduai import inference
    from eduai.accounts.models import User
    from eduai.courses.models import Assignment, Course, School, Submission
    from eduai.inference.device import describe
    from eduai.inference.spec import encoder_spec
    from grading import conf
    from grading.evaluation import eager_tasks, quiet_signals, throwaway_database
    from grading.services import GradeInput, teacher_grades_import
    from grading.serving import embed_default, submissions_score
    from grading.training import model_train

    pid = df.groupby("prompt_id").size().idxmax()
    g = df[df.prompt_id == pid]
    test_fold = g.fold.min()
    train = g[g.fold != test_fold].sample(n_train, random_state=0)
    texts = df[df.fold == test_fold].sample(n, random_state=0).text.tolist()
    words = float(np.mean([len(t.split()) for t in texts]))
    default = encoder_spec(language="en")
    configs = [("baseline", "fp", 512), ("this deployment", default.precision, default.max_length)]
    print(
        f"\n== scoring throughput, raw text -> stored prediction: {n} ASAP test-fold essays of all prompts "
        f"({words:.0f} words on average), model trained on prompt {pid}; median of {runs} runs"
    )
    print(f"   process: {describe()}")
    lo, hi = int(g.min_score.iloc[0]), int(g.max_score.iloc[0])
    counter = iter(range(1, 10**9))
    with (
        tempfile.TemporaryDirectory() as root,
        override_settings(EDUAI_MODEL_ROOT=Path(root), EDUAI_GRADER_AUTO_TRAIN="0", EDUAI_TRAIN_EAGER_IN_THREAD="0"),
        throwaway_database(),
        eager_tasks(),
        quiet_signals(),
    ):
        school = School.objects.create(name="Bench", slug="bench")
        teacher = User.objects.create(username="bench-teacher")
        author = User.objects.create(username="bench-student")
        rates = {}
        for k, (name, precision, length) in enumerate(configs):
            with override_settings(EDUAI_EMBED_PRECISION=precision, EDUAI_EMBED_MAX_TOKENS=length):
                course = Course.objects.create(school=school, code=f"T{k}", title=name, language="en")
                assignment = Assignment.objects.create(
                    course=course, title=name, prompt="-", language="en", min_score=lo, max_score=hi
                )

                def submit(batch: list[str], assignment=assignment) -> list[int]:
                    now = timezone.now()
                    rows = [
                        Submission(
                            assignment=assignment,
                            author=author,
                            text=t,
                            attempt=next(counter),
                            language="en",
                            submitted_at=now,
                            source="import",
                        )
                        for t in batch
                    ]
                    return [s.pk for s in Submission.objects.bulk_create(rows)]

                train_ids = submit(train.text.tolist())
                teacher_grades_import(
                    grades=[
                        GradeInput(submission_id=i, score=int(v)) for i, v in zip(train_ids, train.score, strict=True)
                    ],
                    grader_id=teacher.pk,
                    trigger_training=False,
                )
                embed_default(submission_ids=train_ids)
                model_train(assignment_id=assignment.pk, method="fast", trigger="bench", schedule_scoring=False)
                walls, cpus = [], []
                size = conf.scoring_batch()
                for _ in range(runs):
                    ids = submit(texts)
                    w, c = time.perf_counter(), time.process_time()
                    scored = 0
                    for i in range(0, len(ids), size):
                        scored += len(submissions_score(submission_ids=ids[i : i + size], batch_limit=size).scored)
                    walls.append(time.perf_counter() - w)
                    cpus.append(time.process_time() - c)
                    assert scored == n, f"{scored} of {n} scored"
                wall, cpu = statistics.median(walls), statistics.median(cpus)
                rates[name] = n / cpu
                print(
                    f"  {name:>15} ({precision} @ {length} tokens): {wall:6.2f} s wall, {cpu:6.2f} s CPU = "
                    f"{n / wall:5.1f} essays/s wall, {n / cpu:5.1f} per CPU-second (x2 cores: {2 * n / cpu:5.1f}/s)"
                )
        ratio = rates["this deployment"] / rates["baseline"]
        print(f"  ratio to baseline per CPU-second: {ratio:.2f}x")
    print(f"== encoder alone, same {n} essays (median of {runs})")
    for precision, length in (("fp", 512), ("fp", 256), ("int8", 256)):
        spec = encoder_spec(max_length=length, precision=precision)
        inference.embed(spec, texts[:8])  # load outside the timing
        walls, cpus = [], []
        for _ in range(runs):
            w, c = time.perf_counter(), time.process_time()
            inference.embed(spec, texts)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"  {precision:>4} @ {length} tokens: {n / wall:5.1f} essays/s wall, {n / cpu:5.1f} per CPU-second "
            f"(x2 cores: {2 * n / cpu:5.1f}/s)"
        )


def _serving_rss(folder: str, kind: str, texts: list[str]) -> dict[str, float]:
    """In a fresh process (what a restarted worker holds): load the 10 models of ``folder`` the way
    the worker does (bounded cache, one shared encoder), score ``texts`` with each, report RSS."""
    _setup()
    from eduai import inference
    from eduai.inference import finetune
    from eduai.inference.cache import MODEL_CACHE
    from grading.scoring.fast import FastScorer

    start = _rss_mb()
    for k in range(10):
        path = Path(folder) / f"{kind}{k}"
        if kind == "fast":
            emb = inference.embed(inference.encoder_spec(language="en"), texts)  # the shared encoder, loaded once
            scorer: FastScorer = MODEL_CACHE.get(("bench-fast", k), partial(FastScorer.load, path))
            scorer.predict(texts, emb)
        else:
            finetune.load_scorer(path).predict(texts)
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:"))
    return {"start": start, "rss": _rss_mb(), "peak": hwm, "cached": float(len(MODEL_CACHE))}


def memory_check(df) -> None:
    """Worker RSS with 10 assignment models loaded: 10 fast scorers sharing the encoder, and
    10 fine-tuned MiniLM scorers (each its own encoder), each set loaded in a fresh process."""
    import multiprocessing
    import shutil

    from eduai import inference
    from eduai.inference import finetune
    from eduai.inference.spec import bundled_encoder_path
    from grading.scoring.base import Rubric, TrainingSet
    from grading.scoring.fast import FastScorer

    start = _rss_mb()
    spec = inference.encoder_spec(language="en")
    sample = df.text.sample(64, random_state=5).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        prompts = []
        for _pid, g in df.groupby("prompt_id"):
            g = g.sample(min(len(g), 600), random_state=0)
            prompts.append((g, inference.embed(spec, g.text.tolist())))  # once per prompt
        for k in range(10):
            g, emb = prompts[k % len(prompts)]
            data = TrainingSet(
                ids=tuple(range(len(g))),
                texts=tuple(g.text),
                targets=g.score.to_numpy()[:, None] * 1.0,
                rubric=Rubric(int(g.min_score.iloc[0]), int(g.max_score.iloc[0])),
                embeddings=emb,
            )
            FastScorer.fit(data, tmp_path / f"fast{k}", seed=k)
        trained = _rss_mb()
        sizes = [sum(f.stat().st_size for f in (tmp_path / f"fast{k}").rglob("*")) / 2**20 for k in range(10)]
        print(f"\n== worker memory ({spec.key}; RSS = resident set, MB)")
        print(
            f"this process: {start:.0f} MB at start, {trained:.0f} MB after embedding 3,000 essays and training "
            f"10 fast scorers on 600 each (peak {_peak_mb():.0f}); artefacts {min(sizes):.1f}-{max(sizes):.1f} MB"
        )
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, like a restarted worker
        with ctx.Pool(1) as pool:
            fast = pool.apply(_serving_rss, (tmp, "fast", sample))
        print(
            f"fresh worker, encoder + 10 fast assignment models loaded and scoring: {fast['rss']:.0f} MB RSS "
            f"(peak {fast['peak']:.0f}, {fast['start']:.0f} after imports; target <= 1536 MB)"
        )
        g = df.sample(40, random_state=3)
        finetune.train_scorer(
            base_path=bundled_encoder_path(),
            texts=g.text.tolist(),
            targets=g.score.to_numpy()[:, None] * 1.0,
            ranges=[(0, 30)],
            val_texts=g.text.tolist()[:10],
            val_targets=g.score.to_numpy()[:10, None] * 1.0,
            val_metric=lambda p: 0.0,
            out_dir=tmp_path / "ft0",
            config=finetune.FineTuneConfig(max_length=64, epochs=1, batch_size=8),
        )
        for k in range(1, 10):
            shutil.copytree(tmp_path / "ft0", tmp_path / f"ft{k}")
        with ctx.Pool(1) as pool:
            ft = pool.apply(_serving_rss, (tmp, "ft", sample[:16]))
        print(
            f"fresh worker, 10 fine-tuned MiniLM scorers loaded and scoring: {ft['rss']:.0f} MB RSS "
            f"(peak {ft['peak']:.0f}; {ft['cached']:.0f} models cached)"
        )


def precision_check(df, folder: Path) -> None:
    """QWK with int8 vs fp32 embeddings on the same ASAP split (int8 serves only if within 0.005),
    scoring speed from raw text of each, and how close the two embeddings are."""
    from django.test import override_settings

    from eduai import inference
    from eduai.inference.spec import encoder_spec

    path, frame = split_csv(df, folder, "asap-precision", train_per_prompt=600, test_per_prompt=200)
    out = {}
    for precision in ("fp", "int8"):
        with override_settings(EDUAI_EMBED_PRECISION=precision):
            out[precision] = run_eval(path, "fast")
    texts = frame.text  # type: ignore[attr-defined]  # split_csv's frame is a DataFrame
    sample = texts.sample(min(len(texts), 128), random_state=2).tolist()
    fp = inference.embed(encoder_spec(precision="fp"), sample)
    q8 = inference.embed(encoder_spec(precision="int8"), sample)
    cos = np.sum(fp * q8, axis=1)
    print("\n== embedding precision (600 train / 200 test per ASAP prompt, fast scorer)")
    prompts = list(out["fp"]["prompts"])
    print(f"{'prompt':>8} {'fp32':>7} {'int8':>7} {'diff':>7}")
    for pid in prompts:
        a, b = out["fp"]["prompts"][pid]["qwk"], out["int8"]["prompts"][pid]["qwk"]
        print(f"{pid:>8} {a:>7.4f} {b:>7.4f} {b - a:>+7.4f}")
    for p, r in out.items():
        print(
            f"  {p:>4}: mean QWK {r['mean_qwk']:.4f}; scoring {r['n_test']} essays from raw text "
            f"{r['score_seconds']:.1f} s wall / {r['score_cpu_seconds']:.1f} s CPU = "
            f"{r['essays_per_second']} essays/s wall, "
            f"{r['n_test'] / r['score_cpu_seconds']:.1f} per CPU-second"
        )
    diff = out["int8"]["mean_qwk"] - out["fp"]["mean_qwk"]
    print(f"  int8 - fp32 = {diff:+.4f} mean QWK ({'within' if diff >= -0.005 else 'outside'} the 0.005 allowance)")
    print(f"  cosine(int8, fp32) of {len(sample)} embeddings: mean {cos.mean():.4f}, min {cos.min():.4f}")


def fast_select(df, seeds: list[int]) -> dict:
    """The fast scorer's validation splits, for choosing a change without reading the test fold.

    The lowest fold (the benchmark's test fold) is dropped. Of the remaining folds (ASAP 2-4)
    the lowest and the highest each validate once, trained on the other two (ASAP: 3-4 -> 2 and
    2-3 -> 4). Embeddings come from the product's encoder (one ``embed`` call per prompt, as
    stored on arrival); ``FastScorer.fit`` on the training folds (the served model's fit: every
    training essay, no inner validation) and ``predict``, holistic head. QWK per prompt is the
    mean over ``seeds`` (the seed fixes the inner folds of the stack): one seed moves the mean
    QWK of a split by up to 0.008 (ASAP, seeds 13-15), so a change is judged on several.
    """
    from eduai import inference
    from grading.scoring.base import Rubric, TrainingSet, qwk
    from grading.scoring.fast import FastScorer
    from grading.serving import default_spec

    df = df[df["fold"] != df["fold"].min()]
    folds = sorted(df["fold"].unique())
    spec = default_spec("en")
    assert spec is not None, "English always has an encoder"
    out: dict[str, dict] = {}
    cpu = 0.0
    embedded = {int(pid): inference.embed(spec, g.text.tolist()) for pid, g in df.groupby("prompt_id")}
    for val_fold in (folds[0], folds[-1]):
        per_prompt: dict[str, float] = {}
        for pid, g in df.groupby("prompt_id"):
            emb = embedded[int(pid)]
            tr = (g["fold"] != val_fold).to_numpy()
            lo, hi = int(g.min_score.iloc[0]), int(g.max_score.iloc[0])
            data = TrainingSet(
                ids=tuple(range(1, int(tr.sum()) + 1)),
                texts=tuple(g.text[tr]),
                targets=g.score.to_numpy()[tr, None] * 1.0,
                rubric=Rubric(lo, hi),
                embeddings=emb[tr],
            )
            scores = []
            for seed in seeds:
                with tempfile.TemporaryDirectory() as tmp:
                    c = time.process_time()
                    FastScorer.fit(data, Path(tmp), seed=seed)
                    cpu += time.process_time() - c
                    raw = FastScorer.load(Path(tmp)).predict(list(g.text[~tr]), emb[~tr])[:, 0]
                scores.append(qwk(g.score.to_numpy()[~tr], raw, lo, hi))
            per_prompt[str(pid)] = float(np.mean(scores))
        mean = float(np.mean(list(per_prompt.values())))
        out[f"val_fold_{val_fold}"] = {"prompts": per_prompt, "mean_qwk": mean}
        others = "-".join(str(f) for f in folds if f != val_fold)
        print(
            f"\n== fast scorer, validation: folds {others} -> {val_fold}, mean over seeds {seeds}: "
            f"mean QWK {mean:.4f} (" + ", ".join(f"{k}: {v:.3f}" for k, v in per_prompt.items()) + ")"
        )
    print(f"fit CPU {cpu:.1f} s for {2 * len(embedded) * len(seeds)} fits; load average {os.getloadavg()[0]:.1f}")
    return {**out, "fit_cpu_seconds": cpu, "seeds": seeds}


def _ft_settings(items: list[str]) -> dict[str, object]:
    """``--ft-set KEY=VALUE`` pairs as FineTuneConfig overrides (numbers and true/false parsed)."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--ft-set wants KEY=VALUE, got {item!r}")
        value: object = raw
        if raw.lower() in {"true", "false"}:
            value = raw.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(raw)
                    break
                except ValueError:
                    pass
        out[key.strip()] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--datasets", default="asap,acea")
    parser.add_argument("--method", choices=["fast", "finetune"], default="fast")
    parser.add_argument(
        "--few", type=int, default=50, help="also run with this many teacher grades per prompt (0: skip)"
    )
    parser.add_argument("--ft-train", type=int, default=300, help="fine-tune: training essays per prompt (0 = all)")
    parser.add_argument("--ft-test", type=int, default=150, help="fine-tune: test essays per prompt (0 = all)")
    parser.add_argument("--ft-epochs", type=int, default=2)
    parser.add_argument("--ft-max-length", type=int, default=256)
    parser.add_argument("--ft-prompts", default="", help="fine-tune: only these prompt ids (comma-separated)")
    parser.add_argument(
        "--ft-no-fast", action="store_true", help="fine-tune: skip the fast scorer on the same reduced split"
    )
    parser.add_argument(
        "--ft-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fine-tune: a FineTuneConfig field for this run (repeatable), e.g. lr=1.5e-4 side_features=true",
    )
    parser.add_argument(
        "--ft-select",
        action="store_true",
        help="fine-tune: recipe selection on validation only: the test fold is dropped and the lowest "
        "training fold stands in for it (its essays are what --ft-test samples)",
    )
    parser.add_argument(
        "--fast-select",
        action="store_true",
        help="fast scorer: validation splits only (test fold dropped; of the other folds the lowest and "
        "the highest validate in turn), QWK averaged over --seeds; for choosing changes",
    )
    parser.add_argument("--seeds", default="13,14,15", help="--fast-select: the fit seeds (comma-separated)")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--precision-check", action="store_true")
    parser.add_argument("--timing", action="store_true", help="median training time and encoder throughput")
    parser.add_argument(
        "--only-checks",
        action="store_true",
        help="skip the QWK evaluation; run only --timing/--memory/--precision-check",
    )
    parser.add_argument("--out", help="write all results as JSON here")
    args = parser.parse_args()
    _setup()
    data_root = Path(args.data)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="eduai-bench-") as tmp:
        folder = Path(tmp)
        for name in [n for n in args.datasets.split(",") if n]:
            df = load(data_root, name)
            if args.only_checks:
                pass
            elif args.fast_select:
                if name == "asap":  # English: the encoder's embeddings are part of what is chosen
                    results["asap_fast_select"] = fast_select(df, [int(x) for x in args.seeds.split(",") if x])
            elif args.method == "fast":
                path, frame = split_csv(df, folder, name)
                base = length_baseline(frame)
                result = run_eval(path, "fast")
                report(f"{name}: fast scorer (all training folds)", result, base)
                results[f"{name}_fast"] = {**result, "length_baseline": base}
                if args.few:
                    path, frame = split_csv(df, folder, f"{name}-few", train_per_prompt=args.few)
                    base = length_baseline(frame)
                    result = run_eval(path, "fast")
                    report(f"{name}: fast scorer, {args.few} teacher-graded essays per prompt", result, base)
                    results[f"{name}_fast_{args.few}"] = {**result, "length_baseline": base}
            else:
                if args.ft_select:  # never read the test fold: the next fold is the validation fold
                    df = df[df["fold"] != df["fold"].min()]
                if args.ft_prompts:
                    wanted = {p.strip() for p in args.ft_prompts.split(",") if p.strip()}
                    df = df[df.prompt_id.astype(str).isin(wanted)]
                    if df.empty:
                        print(f"\n== {name}: none of the prompts {sorted(wanted)}")
                        continue
                path, frame = split_csv(
                    df, folder, f"{name}-ft", train_per_prompt=args.ft_train, test_per_prompt=args.ft_test
                )
                base = length_baseline(frame)
                if not args.ft_no_fast:  # the fast scorer on the SAME reduced split, in the same run
                    fast = run_eval(path, "fast")
                    report(f"{name}: fast scorer on the fine-tuning split", fast, base)
                    results[f"{name}_fast_same_split"] = {**fast, "length_baseline": base}
                overrides = {"epochs": args.ft_epochs, "max_length": args.ft_max_length, **_ft_settings(args.ft_set)}
                try:
                    result = run_eval(path, "finetune", overrides)
                except Exception as exc:  # e.g. Chinese without EDUAI_ZH_ENCODER_PATH
                    print(f"\n== {name}: fine-tuning not run: {exc}")
                    continue
                report(
                    f"{name}: fine-tuned ({args.ft_train} train / {args.ft_test} "
                    f"{'validation-fold' if args.ft_select else 'test'} essays per prompt, "
                    f"{args.ft_epochs} epochs, {args.ft_max_length} tokens, {overrides})",
                    result,
                    base,
                )
                for pid, r in result["prompts"].items():
                    print(
                        f"  prompt {pid}: fine-tune {r['train_seconds']:.0f} s wall / "
                        f"{r['train_cpu_seconds']:.0f} s CPU; score {r['n_test']} essays in {r['score_seconds']:.1f} s "
                        f"wall / {r['score_cpu_seconds']:.1f} s CPU; trait QWK {r.get('trait_qwk')}"
                    )
                results[f"{name}_finetune"] = {**result, "length_baseline": base, "settings": overrides}
            if args.timing and name == "asap":
                train_timing(df)
                throughput(df)
            if args.precision_check and name == "asap":
                precision_check(df, folder)
            if args.memory and name == "asap":
                memory_check(df)
    print(f"\npeak memory of this process: {_peak_mb():.0f} MB (ru_maxrss)")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
