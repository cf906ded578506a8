"""bias_report: closed forms, and a planted framing shortcut flagged (clean data not)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from igselect.attribution import bias_report
from igselect.landmarks.mesh import REGIONS, RIGID_REGIONS

UNIFORM_RIGID = sum(len(REGIONS[r]) for r in RIGID_REGIONS) / 468


# ----------------------------------------------------------------------------- closed forms
def test_uniform_scores_give_the_landmark_shares():
    report = bias_report(np.full(468, 3.0))
    assert_allclose(report.rigid_share, UNIFORM_RIGID)
    assert_allclose(report.uniform_rigid_share, UNIFORM_RIGID)
    assert_allclose(report.rigid_ratio, 1.0)
    assert not report.flagged
    for name, share in report.region_shares.items():
        assert_allclose(share, report.uniform_shares[name])
    assert_allclose(sum(report.region_shares.values()), 1.0)


def test_rigid_only_scores_are_flagged_and_expressive_ones_are_not():
    oval = np.zeros(468)
    oval[REGIONS["face_oval"]] = 1.0
    report = bias_report(oval)
    assert report.rigid_share == 1.0 and report.flagged
    assert_allclose(report.rigid_ratio, 1 / UNIFORM_RIGID)
    lips = np.zeros(468)
    lips[REGIONS["lips"]] = -2.0  # absolute values are used
    report = bias_report(lips)
    assert report.rigid_share == 0.0 and not report.flagged
    assert report.region_shares["lips"] == 1.0


def test_flag_rule_is_twice_uniform():
    """The rigid landmarks get a weight w, the rest 1: share = r w / (r w + 1 - r)."""
    r = UNIFORM_RIGID
    rigid = np.isin(np.arange(468), np.concatenate([REGIONS[n] for n in RIGID_REGIONS]))
    for weight, expected in [(2.5, True), (2.0, False)]:
        scores = np.where(rigid, weight, 1.0)
        share = r * weight / (r * weight + 1 - r)
        report = bias_report(scores)
        assert_allclose(report.rigid_share, share)
        assert report.flagged is (share / r >= 2.0) is expected
    assert bias_report(np.where(rigid, 2.0, 1.0), threshold=1.5).flagged


def test_stacked_scores_subsets_and_selectors():
    scores = np.ones((2, 468))
    scores[1, REGIONS["nose"]] = 50.0
    report = bias_report(scores)
    assert report.flagged.tolist() == [False, True]
    subset = np.concatenate([REGIONS["lips"], REGIONS["nose"]])
    report = bias_report(np.ones(subset.size), indices=subset)
    assert_allclose(report.uniform_rigid_share, len(REGIONS["nose"]) / subset.size)

    class Fitted:
        scores_ = np.ones(468)

    assert_allclose(bias_report(Fitted()).rigid_ratio, 1.0)


def test_other_landmark_schemes():
    """The rigid regions and the uniform share come from the scheme (iBUG 68: jaw, nose)."""
    from igselect.landmarks import IBUG_68

    uniform = bias_report(np.ones(68), scheme=IBUG_68)
    assert_allclose(uniform.rigid_ratio, 1.0)
    rigid = np.isin(IBUG_68.landmark_regions(np.arange(68)), IBUG_68.rigid_regions)
    assert_allclose(uniform.uniform_rigid_share, rigid.mean())
    assert bias_report(np.where(rigid, 10.0, 1.0), scheme=IBUG_68).flagged
    assert not bias_report(np.where(rigid, 0.1, 1.0), scheme=IBUG_68).flagged


def test_bad_input():
    with pytest.raises(ValueError, match=r"'threshold' parameter of bias_report .*Got 0 "):
        bias_report(np.ones(468), threshold=0)
    with pytest.raises(ValueError, match="rigid region"):
        bias_report(np.ones(3), indices=REGIONS["lips"][:3])
    from igselect import GlobalAttributionSelector

    with pytest.raises(ValueError, match="unfitted GlobalAttributionSelector"):
        bias_report(GlobalAttributionSelector())


# ----------------------------------------------------------------------------- shortcut
def _expressions(random_state):
    from igselect.datasets import make_expression_sequences

    ds = make_expression_sequences(
        n_subjects=48, n_frames=4, emotions=("happiness", "sadness"), random_state=random_state
    )
    return ds.data, ds.target


def plant_framing_shortcut(X, y, *, scale=1.1):
    """Relabel by framing: every other sequence of each expression is "close".

    The "close" class has its face oval scaled out by ``scale`` about the face's
    centroid (as when the crop frames the face outline differently); the
    expressions are the same in both classes (half happiness, half sadness each).
    """
    close = (np.arange(len(X)) // 2) % 2 == 0  # subject-major: one of each pair of subjects
    oval = REGIONS["face_oval"]
    Xs = X.copy()
    part = Xs[close]
    centre = part.mean(axis=3, keepdims=True)
    part[..., oval] = centre + scale * (part[..., oval] - centre)
    Xs[close] = part
    labels = np.where(close, "close", "far")
    for emotion in np.unique(y):
        assert np.mean(labels[y == emotion] == "close") == 0.5
    return Xs, labels


def _fit_selector(X, y, positive):
    from igselect import EmoClassifier, GlobalAttributionSelector

    clf = EmoClassifier(
        n_filters=2,
        lstm_units=8,
        dense_units=8,
        epochs=40,
        learning_rate=1e-2,
        validation_fraction=0,
        random_state=0,
    )
    sel = GlobalAttributionSelector(clf, positive_class=positive, n_steps=16, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sel.fit(X, y)


def test_planted_shortcut_is_flagged_and_clean_data_is_not():
    """Must show. A model trained to tell the framing apart is flagged; one trained on
    the expressions is not (flag rule fixed beforehand: rigid share >= 2x uniform)."""
    X, y = _expressions(0)
    clean = bias_report(_fit_selector(X, y, "happiness"))
    Xs, labels = plant_framing_shortcut(X, y)
    shortcut_selector = _fit_selector(Xs, labels, "close")
    shortcut = bias_report(shortcut_selector)
    X_new, y_new = plant_framing_shortcut(*_expressions(1))  # other people
    held_out = shortcut_selector.estimator_.score(X_new, y_new)
    print(
        f"rigid share / uniform: clean {clean.rigid_ratio:.2f}, shortcut "
        f"{shortcut.rigid_ratio:.2f} (held-out accuracy of the shortcut model {held_out:.2f})"
    )
    # the model really learned the framing: chance is 0.5, and 0.65 is 3 sd above it (n=96)
    assert held_out > 0.65
    assert shortcut.flagged and shortcut.region_shares["face_oval"] > 0.2
    assert not clean.flagged
