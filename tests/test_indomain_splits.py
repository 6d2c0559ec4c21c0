"""In-domain splits: each holds out exactly the factor values / combinations its rule says.

The index sets are re-derived from the split rules (the Zenodo files were not available), so
these tests check the rules themselves: the held-out values against the brief's table, the
train shares against the official tests' ~30%, disjointness and coverage of the grid.
"""

from __future__ import annotations

import numpy as np
import pytest

from iclr.methods.indomain.analysis import one_ood_subsets
from iclr.methods.indomain.factors import DSPRITES, SHAPES3D
from iclr.methods.indomain.splits import VARIANTS, make_split, ood_flags

# Held-out values per factor from the paper brief's split table (dSprites, Shapes3D).
DSPRITES_EXTRAPOLATION = {1: [4, 5], 2: list(range(32, 40)), 3: list(range(25, 32))}
DSPRITES_INTERPOLATION = {
    1: [1, 4],
    2: [2, 7, 12, 17, 22, 27, 32, 37],
    3: [2, 7, 11, 15, 20, 24, 29],
}
DSPRITES_BAND = {1: [], 2: [0, 1, 2, 3], 3: [0, 1, 2]}
SHAPES3D_EXTRAPOLATION = {0: [8, 9], 3: [6, 7], 5: [12, 13, 14]}
SHAPES3D_INTERPOLATION = {0: [2, 7], 3: [2, 5], 5: [2, 7, 12]}


@pytest.fixture(scope="module")
def dsprites_labels():
    return DSPRITES.unravel(np.arange(DSPRITES.total))


@pytest.mark.parametrize("variant", VARIANTS)
def test_splits_are_disjoint_and_cover_the_grid(variant):
    split = make_split(DSPRITES, variant)
    train, test = split.train_indices, split.test_indices
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == DSPRITES.total


@pytest.mark.parametrize(
    ("variant", "expected"),
    [("extrapolation", DSPRITES_EXTRAPOLATION), ("interpolation", DSPRITES_INTERPOLATION)],
)
def test_dsprites_held_out_values(variant, expected, dsprites_labels):
    split = make_split(DSPRITES, variant)
    expected = {**expected, 4: expected[3]}  # x and y have the same size
    for f in range(5):
        assert split.ood_values[f].tolist() == expected.get(f, [])  # shape is never split
    flags = ood_flags(dsprites_labels, split.ood_values)
    # an image is test exactly when at least one varying factor takes a held-out value
    np.testing.assert_array_equal(split.test_mask, flags.any(axis=1))
    train = dsprites_labels[~split.test_mask]
    for f, values in expected.items():
        assert not np.isin(train[:, f], values).any()
        # every other value of the factor is seen in training
        assert set(np.unique(train[:, f])) == set(range(DSPRITES.sizes[f])) - set(values)
    assert set(np.unique(train[:, 0])) == {0, 1, 2}


def test_shapes3d_held_out_values():
    for variant, expected in (
        ("extrapolation", SHAPES3D_EXTRAPOLATION),
        ("interpolation", SHAPES3D_INTERPOLATION),
    ):
        split = make_split(SHAPES3D, variant)
        hues = {1: expected[0], 2: expected[0]}  # the three hues share the rule
        for f, values in {**expected, **hues}.items():
            assert split.ood_values[f].tolist() == values
        assert split.ood_values[4].tolist() == []  # object type is never split


def test_dsprites_composition_holds_out_combinations_not_values(dsprites_labels):
    split = make_split(DSPRITES, "composition")
    in_band = np.stack(
        [np.isin(dsprites_labels[:, f], DSPRITES_BAND[f if f < 4 else 3]) for f in (1, 2, 3, 4)],
        axis=1,
    )
    # train = at least one varying factor in its low band; test = all outside
    np.testing.assert_array_equal(~split.test_mask, in_band.any(axis=1))
    train, test = dsprites_labels[~split.test_mask], dsprites_labels[split.test_mask]
    for f in range(5):  # every value of every factor is seen in training ...
        assert set(np.unique(train[:, f])) == set(range(DSPRITES.sizes[f]))
    # ... but no test image has any varying factor in its band
    assert not in_band[split.test_mask].any()
    assert len(test) and all(len(v) == 0 for v in split.ood_values)


@pytest.mark.parametrize(
    ("spec", "variant", "share"),
    [
        (DSPRITES, "extrapolation", 0.326),
        (DSPRITES, "interpolation", 0.326),
        (DSPRITES, "composition", 0.261),
        (DSPRITES, "random", 0.326),
        (SHAPES3D, "extrapolation", 0.307),
        (SHAPES3D, "composition", 0.320),
    ],
)
def test_train_shares_match_the_brief(spec, variant, share):
    assert make_split(spec, variant).test_mask.mean() == pytest.approx(1 - share, abs=5e-4)


def test_random_split_is_fixed_and_mixes_values(dsprites_labels):
    a, b = make_split(DSPRITES, "random"), make_split(DSPRITES, "random")
    np.testing.assert_array_equal(a.test_mask, b.test_mask)
    assert round(a.test_mask.mean(), 1) == 0.7  # the official tests' check
    train = dsprites_labels[~a.test_mask]
    for f in range(5):
        assert len(np.unique(train[:, f])) == DSPRITES.sizes[f]


def test_one_factor_ood_subsets_have_exactly_that_factor_ood(dsprites_labels):
    split = make_split(DSPRITES, "extrapolation")
    test = dsprites_labels[split.test_mask]
    subsets = one_ood_subsets(test, split.ood_values)
    assert sorted(subsets) == [1, 2, 3, 4]
    flags = ood_flags(test, split.ood_values)
    for f, rows in subsets.items():
        assert flags[rows, f].all() and (flags[rows].sum(axis=1) == 1).all()
    # scale alone OOD: 2/6 scales × 32/40 orientations × (25/32)² positions of the grid
    assert len(subsets[1]) == 3 * 2 * 32 * 25 * 25
