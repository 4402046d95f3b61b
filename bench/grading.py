"""Benchmark of the grading engine on the research essays (never copied into the repo).

    python bench/grading.py                       # fast scorer on ASAP + ACEA, length baseline, 50-essay run
    python bench/grading.py --method finetune --ft-train 300 --ft-test 150 --ft-epochs 2 --ft-max-length 256
    python bench/grading.py --memory               # worker RSS with 10 assignment models loaded
    python bench/grading.py --precision-check      # int8 vs fp32 embeddings: QWK and throughput

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


def throughput(df, runs: int = 3, n: int = 256) -> None:
    """Median scoring throughput of the inference path pieces (embed + features + regressors)."""
    from eduai import inference
    from eduai.inference.spec import encoder_spec

    texts = df.sample(n, random_state=1).text.tolist()
    print(f"\n== encoder throughput on {n} ASAP essays (median of {runs} runs, length-sorted batches of 32)")
    for precision in ("fp", "int8"):
        for length in (256, 512):
            spec = encoder_spec(max_length=length, precision=precision)
            inference.embed(spec, texts[:8])  # load outside the timing
            rates = []
            for _ in range(runs):
                t = time.perf_counter()
                inference.embed(spec, texts)
                rates.append(n / (time.perf_counter() - t))
            print(f"  {precision:>4} @ {length} tokens: {statistics.median(rates):6.1f} essays/s")


def memory_check(df) -> None:
    """Worker RSS with 10 assignment models loaded (fast scorers; fine-tuned MiniLM copies)."""
    import shutil

    from eduai import inference
    from eduai.inference import finetune
    from eduai.inference.cache import MODEL_CACHE
    from eduai.inference.spec import bundled_encoder_path
    from grading.scoring.base import Rubric, TrainingSet
    from grading.scoring.fast import FastScorer
    from grading.serving import default_spec

    inference.cache_clear()
    start = _rss_mb()
    spec = default_spec("en")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        groups = list(df.groupby("prompt_id"))
        for k in range(10):
            _pid, g = groups[k % len(groups)]
            g = g.sample(min(len(g), 600), random_state=k)
            emb = inference.embed(spec, g.text.tolist())
            data = TrainingSet(
                ids=tuple(range(len(g))),
                texts=tuple(g.text),
                targets=g.score.to_numpy()[:, None] * 1.0,
                rubric=Rubric(int(g.min_score.iloc[0]), int(g.max_score.iloc[0])),
                embeddings=emb,
            )
            FastScorer.fit(data, tmp_path / f"fast{k}")
        trained = _rss_mb()
        inference.cache_clear()
        import gc

        gc.collect()
        _rss_mb()
        sample = df.text.head(64).tolist()
        emb = inference.embed(spec, sample)
        for k in range(10):
            model = MODEL_CACHE.get(("bench-fast", k), lambda k=k: FastScorer.load(tmp_path / f"fast{k}"))
            model.predict(sample, emb)
        fast_rss = _rss_mb()
        print(f"\n== worker memory: RSS at start {start:.0f} MB, after training 10 fast scorers {trained:.0f} MB")
        print(f"encoder + 10 fast assignment models loaded and scoring: {fast_rss:.0f} MB RSS (target <= 1536 MB)")
        # Fine-tuned: one tiny fine-tune copied 10 times, each loaded as its own model (int8 on CPU when allowed).
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
        before = _rss_mb()
        for k in range(10):
            finetune.load_scorer(tmp_path / f"ft{k}").predict(sample[:16])
        print(
            f"+ 10 fine-tuned MiniLM scorers loaded: {_rss_mb():.0f} MB RSS (was {before:.0f} MB; cache size "
            f"{len(MODEL_CACHE)})"
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
    sample = frame.text.sample(min(len(frame), 128), random_state=2).tolist()
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
                overrides = {"epochs": args.ft_epochs, "max_length": args.ft_max_length}
                try:
                    result = run_eval(path, "finetune", overrides)
                except Exception as exc:  # e.g. Chinese without EDUAI_ZH_ENCODER_PATH
                    print(f"\n== {name}: fine-tuning not run: {exc}")
                    continue
                report(
                    f"{name}: fine-tuned ({args.ft_train} train / {args.ft_test} test per prompt, "
                    f"{args.ft_epochs} epochs, {args.ft_max_length} tokens)",
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
