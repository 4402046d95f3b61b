"""Fine-tuning's batches: length-bucketed, capped by a padded-token budget, deterministic per seed.

Fast: no network is trained; the prediction test runs a stub network through the real tokenizer.
"""

from __future__ import annotations

import numpy as np
import pytest

from eduai.inference import finetune
from eduai.inference.spec import bundled_encoder_path


def _lengths(n=300, seed=0):
    # essays from 20 to 256 tokens, skewed short like real submissions
    rng = np.random.default_rng(seed)
    return [int(x) for x in np.clip(rng.lognormal(4.3, 0.6, n), 20, 256)]


def _padded(batch, lengths):
    return len(batch) * max(lengths[i] for i in batch)


@pytest.mark.parametrize("budget", [256, 1000, 4096])
def test_training_batches_respect_the_token_budget_and_cover_every_essay_once(budget):
    # given 300 essays of 20-256 tokens
    lengths = _lengths()
    # when one epoch is cut into batches of at most 16 rows and `budget` padded tokens
    batches = finetune._bucketed_batches(lengths, 16, np.random.default_rng(13), budget)
    # then no batch holds more padded tokens or rows than allowed
    assert max(_padded(b, lengths) for b in batches) <= budget
    assert max(len(b) for b in batches) <= 16
    # and every essay is in exactly one batch
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))


def test_a_batch_of_long_essays_holds_fewer_rows_than_one_of_short_essays():
    # given 64 short (20 tokens) and 64 long (200 tokens) essays, budget 800 padded tokens
    lengths = [20] * 64 + [200] * 64
    batches = finetune._bucketed_batches(lengths, 16, np.random.default_rng(1), 800)
    # then the short essays fill 16-row batches and the long ones at most 4 rows
    short = [b for b in batches if max(lengths[i] for i in b) == 20]
    long = [b for b in batches if min(lengths[i] for i in b) == 200]
    assert max(len(b) for b in short) == 16 and max(len(b) for b in long) == 4
    assert sum(map(len, short)) + sum(map(len, long)) == 128  # no batch mixes the two lengths here


def test_without_a_budget_batches_are_capped_by_rows_only():
    lengths = _lengths(100)
    batches = finetune._bucketed_batches(lengths, 16, np.random.default_rng(2), None)
    assert sorted(len(b) for b in batches)[-1] == 16 and sum(map(len, batches)) == 100


def test_an_essay_longer_than_the_budget_gets_a_batch_of_its_own():
    lengths = [30, 30, 500, 30]
    batches = finetune._bucketed_batches(lengths, 16, np.random.default_rng(3), 100)
    assert [2] in [b.tolist() for b in batches]
    assert all(_padded(b, lengths) <= 100 for b in batches if 2 not in b)


def test_the_same_seed_gives_the_same_batches_and_another_seed_others():
    lengths = _lengths()

    def epochs(seed):
        rng = np.random.default_rng(seed)
        return [[b.tolist() for b in finetune._bucketed_batches(lengths, 8, rng, 1024)] for _ in range(3)]

    first, again, other = epochs(13), epochs(13), epochs(14)
    assert first == again
    assert first != other
    assert first[0] != first[1]  # and each epoch is shuffled anew


def test_config_carries_the_token_budget_and_zero_switches_it_off():
    assert finetune.FineTuneConfig().batch_tokens == 4096
    assert finetune._token_budget(finetune.FineTuneConfig(batch_tokens=0)) is None
    assert finetune.FineTuneConfig(batch_tokens=2048).as_dict()["batch_tokens"] == 2048


def test_prediction_batches_respect_the_token_budget_and_keep_the_input_order():
    import torch

    from eduai.inference.encoder import load_tokenizer

    # given a stub network that records each batch's shape and scores an essay by its token count
    class Stub(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(1, 1)
            self.shapes = []

        def forward(self, input_ids, mask, side):
            self.shapes.append(tuple(input_ids.shape))
            return mask.sum(1, keepdim=True).float()

    tokenizer = load_tokenizer(bundled_encoder_path())
    rng = np.random.default_rng(4)
    texts = [" ".join(["word"] * int(n)) for n in rng.integers(5, 120, 60)]
    net = Stub()
    # when 60 essays are scored with at most 32 rows and 512 padded tokens per batch
    out = finetune._predict_normed(
        net,
        tokenizer,
        texts,
        128,
        torch.device("cpu"),
        None,
        side=finetune.SideInputs(),
        max_rows=32,
        max_tokens=512,
    )
    # then every batch stayed within the budget, and each essay got its own score back in place
    assert all(rows * width <= 512 and rows <= 32 for rows, width in net.shapes)
    assert sum(rows for rows, _ in net.shapes) == 60
    expected = [min(len(t.split()), 126) + 2 for t in texts]  # words + [CLS]/[SEP], head+tail at 128
    np.testing.assert_array_equal(out[:, 0], expected)


def test_side_inputs_standardise_with_training_statistics_and_demand_their_features():
    # given side inputs fitted on 4 essays' token counts and a 2-column feature matrix
    feats = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0]])
    side = finetune.SideInputs.fit([10, 20, 40, 80], feats, length=True)
    x = side.matrix([10, 20, 40, 80], feats)
    # then each column is standardised (a constant column stays finite), and the stats round-trip
    assert x.shape == (4, 3) and np.isfinite(x).all()
    np.testing.assert_allclose(x[:, :2].mean(0), 0.0, atol=1e-6)
    assert finetune.SideInputs.from_meta(side.as_meta()) == side
    # and a far-out essay is clipped, and scoring without the features is refused clearly
    assert side.matrix([10], np.array([[1000.0, 10.0]]))[0, 1] == 5.0
    with pytest.raises(ValueError, match="features"):
        side.matrix([10, 20], None)
    # an artefact from before side features: length only
    old = finetune.SideInputs.from_meta({"length_stats": [3.0, 0.5]})
    assert old.width == 1 and old.feature_mean == ()
