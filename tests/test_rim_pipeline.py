"""RIM end to end on the planted synthetic log (through the job runner) and on ml-latest-small."""

from __future__ import annotations

import pytest

from helpers import composed, mirror_has
from iclr.cli import schema
from iclr.cli.errors import UserError
from iclr.cli.job import execute_job

FAST = (
    "method.rnn.hidden=32",
    "method.rnn.epochs=4",
    "method.hawkes.scales=8",
    "method.matching.dual_epochs=10",
    "method.matching.mult=[0,0.5,3]",
)


def test_rim_product_wins_user_rec_on_planted_process(tmp_path):
    cfg = composed("method=rim", "dataset=rim-synthetic", *FAST)
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome.record.error
    m = outcome.record.metrics
    # ItemRec: the Markov item choice is learnt, and the intensity (a per-user factor) changes
    # nothing; UserRec: the learnt intensity multiplies the item-choice model's precision
    assert m["RNN/item_prec"] > 2 * m["Rand/item_prec"]
    assert m["RNN-HP/item_prec"] == m["RNN/item_prec"]
    assert m["RNN-HP/user_prec"] > 1.3 * m["RNN/user_prec"]
    assert m["RNN-HP/user_prec"] > max(m["Pop/user_prec"], m["HP/user_prec"])
    assert m["user_prec"] == m["RNN-HP/user_prec"]  # the dataset's main metric
    # matching: the user cap (mult=3) and the item floor (mult=0.5) are met by greedy
    assert m["RNN-HP/greedy/mult=0.5/item_cov"] == 1.0
    assert m["RNN-HP/dual_online/mult=3/prec"] > 0
    assert (tmp_path / "matching.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("override", "key"),
    [("method.item_model=lstm", "item_model"), ("dataset.protocol.split=random", "split")],
)
def test_bad_option_is_rejected_by_the_schema(override, key):
    # the options blocks of conf/method/rim.yaml and the datasets' protocol nodes
    with pytest.raises(UserError, match=key):
        schema.check(composed("method=rim", "dataset=rim-synthetic", override))


@pytest.mark.skipif(not mirror_has("movielens-latest-small"), reason="no ml-latest-small mirror")
@pytest.mark.parametrize("method", ["als", "bpr"])
def test_factorisation_baselines_beat_random_on_ml_latest_small(method, tmp_path):
    cfg = composed(f"method={method}", "dataset=ml-latest-small", "method.iterations=10")
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome.record.error
    m = outcome.record.metrics
    assert m["item_prec"] > 0.002  # random is ~0.0008 (k = 58 of ~5,700 items)
