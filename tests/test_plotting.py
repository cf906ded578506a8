"""Tests of the matplotlib plots (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.testing import assert_allclose

from igselect.landmarks import IBUG_68, MEDIAPIPE_HAND_21, mesh
from igselect.plotting import (
    _edge_chains,
    plot_ig_path,
    plot_landmark_importance,
    plot_scores_by_region,
    plot_selection_grid,
)


def _selected(ax):
    (coll,) = [c for c in ax.collections if c.get_label() == "selected"]
    return coll.get_offsets()


def _scores(seed=0):
    return np.random.default_rng(seed).random(468)


def test_importance_scores_highlight_top_n():
    scores = _scores()
    ax = plot_landmark_importance(scores, n_landmarks=16, title="happiness")
    assert isinstance(ax, Axes)
    offsets = _selected(ax)
    assert len(offsets) == 16
    face = mesh.mean_shape()
    top = np.argsort(-scores)[:16]
    assert_allclose(np.sort(offsets[:, 0]), np.sort(face[0, top]))
    ymin, ymax = ax.get_ylim()
    assert ymin > ymax  # image orientation: y axis inverted
    assert len(ax.figure.axes) == 2  # face + colorbar
    assert ax.get_title() == "happiness"
    assert len(ax.lines) >= 10  # mesh contours


def test_importance_mask_and_indices_on_custom_face():
    face = mesh.mean_shape() * 0.2 + 0.5
    mask = np.zeros(468, bool)
    mask[[61, 291, 0, 17]] = True
    ax = plot_landmark_importance(mask, face=face)
    assert len(_selected(ax)) == 4
    assert len(ax.figure.axes) == 1  # no colorbar for a mask
    assert_allclose(np.sort(_selected(ax)[:, 1]), np.sort(face[1, [61, 291, 0, 17]]))
    ax2 = plot_landmark_importance(np.array([5, 3, 3]), face=face)
    assert len(_selected(ax2)) == 2


def test_importance_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_landmark_importance(_scores(), n_landmarks=5, ax=ax, colorbar=False)
    assert out is ax and len(fig.axes) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_landmarks": 0}, r"'n_landmarks' parameter of plot_landmark_importance .*Got 0 "),
        ({"n_landmarks": True}, r"'n_landmarks' parameter .*Got True "),
        ({"n_landmarks": 469}, r"n_landmarks must be in \[1, 468\]. Received: n_landmarks=469"),
        ({"face": np.zeros((2, 10))}, "face"),
        ({"face": np.zeros((3, 468))}, "face"),
    ],
)
def test_importance_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_landmark_importance(_scores(), **kwargs)
    with pytest.raises(ValueError, match="scores_or_mask"):
        plot_landmark_importance(np.zeros((2, 468)))


def test_selection_grid_from_ranking_and_selector():
    ranking = np.argsort(-_scores())
    sizes = (468, 234, 128, 64, 32, 16)
    fig = plot_selection_grid(ranking, title="surprise")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert [len(_selected(ax)) for ax in fig.axes] == list(sizes)
    assert [ax.get_title() for ax in fig.axes] == [f"L = {n}" for n in sizes]

    class FittedSelector:
        ranking_ = ranking

    fig2 = plot_selection_grid(FittedSelector(), sizes=(64, 32, 16, 8), ncols=2)
    assert len(fig2.axes) == 4
    top8 = set(ranking[:8].tolist())
    offsets = _selected(fig2.axes[-1])
    face = mesh.mean_shape()
    assert {int(np.argmin(np.hypot(*(face - p[:, None])))) for p in offsets} == top8


@pytest.mark.parametrize(
    "scheme, sizes",
    [(IBUG_68, [68, 34, 17, 8, 4, 2]), (MEDIAPIPE_HAND_21, [21, 10, 5, 2, 1])],
    ids=["ibug_68", "hand_21"],
)
def test_selection_grid_of_other_schemes(scheme, sizes):
    ranking = np.arange(scheme.n_landmarks)[::-1]
    fig = plot_selection_grid(ranking)  # scheme and default sizes from the ranking's length
    assert [len(_selected(ax)) for ax in fig.axes] == sizes
    face = scheme.canonical_shape()
    assert_allclose(_selected(fig.axes[-1]), face[:, np.sort(ranking[: sizes[-1]])].T)
    assert all(len(ax.lines) == len(_edge_chains(scheme.edges)) for ax in fig.axes)


def test_unknown_layouts_draw_without_edges_and_need_a_face():
    ax = plot_landmark_importance(np.array([0.1, 0.5, 0.2]), face=np.eye(2, 3), n_landmarks=1)
    assert len(ax.lines) == 0 and len(_selected(ax)) == 1
    with pytest.raises(ValueError, match="cannot infer the landmark scheme from 3 landmarks"):
        plot_landmark_importance(np.array([0.1, 0.5, 0.2]))
    with pytest.raises(ValueError, match="has 68"):
        plot_landmark_importance(_scores(), scheme=IBUG_68)


def test_selection_grid_errors():
    with pytest.raises(ValueError, match="sizes"):
        plot_selection_grid(np.arange(10), sizes=(20,))
    with pytest.raises(ValueError, match="ranking"):
        plot_selection_grid(np.linspace(0, 1, 10))


def _toy_model(X):
    p = 1.0 / (1.0 + np.exp(-20.0 * (np.asarray(X).mean(axis=(1, 2, 3)) - 0.3)))
    return np.stack([1.0 - p, p], axis=1)


def test_ig_path_probability_along_alpha():
    x, b = np.ones((4, 2, 5)), np.zeros((4, 2, 5))
    ax = plot_ig_path(_toy_model, x, b, n_steps=20, label="toy")
    alpha, prob = ax.lines[0].get_xydata().T
    assert_allclose(alpha, np.linspace(0, 1, 21), atol=1e-6)
    assert_allclose(prob[[0, -1]], _toy_model(np.stack([b, x]))[:, 1], rtol=1e-5)
    assert np.all(np.diff(prob) > 0)
    assert ax.get_legend() is not None


def test_ig_path_unwraps_estimator_and_target_column():
    class Fitted:
        model_ = staticmethod(_toy_model)

    x, b = np.ones((4, 2, 5)), np.zeros((4, 2, 5))
    ax = plot_ig_path(Fitted(), x, b, target=0, n_steps=4)
    assert ax.lines[0].get_ydata()[0] > 0.99  # class 0 at the baseline
    with pytest.raises(ValueError, match="target"):
        plot_ig_path(_toy_model, x, b, target=2)
    with pytest.raises(ValueError, match=r"'n_steps' parameter of plot_ig_path .*Got 0 "):
        plot_ig_path(_toy_model, x, b, n_steps=0)
    with pytest.raises(ValueError, match=r"'n_steps' parameter of plot_ig_path .*Got True "):
        plot_ig_path(_toy_model, x, b, n_steps=True)
    with pytest.raises(ValueError, match="baseline"):
        plot_ig_path(_toy_model, x, b[:2])


def test_ig_path_with_keras_model():
    keras = pytest.importorskip("keras")
    inp = keras.Input((3, 2, 4))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).random((3, 2, 4)).astype("float32")
    ax = plot_ig_path(model, x, np.zeros_like(x), n_steps=8)
    prob = ax.lines[0].get_ydata()
    assert_allclose(prob[-1], np.asarray(model(x[None]))[0, 1], rtol=1e-5)


def test_scores_by_region_bars_and_rigid_share():
    scores = np.zeros(468)
    scores[mesh.REGIONS["nose"]] = 1.0
    scores[mesh.REGIONS["lips"]] = 1.0
    ax = plot_scores_by_region(scores, title="toy")
    assert len(ax.patches) == len(mesh.REGION_PRIORITY) + 1  # one bar per region + other
    ticks = ax.get_xticklabels()
    heights = {t.get_text(): p.get_height() for t, p in zip(ticks, ax.patches, strict=True)}
    expected = mesh.region_shares(scores)
    assert_allclose(heights["nose"], expected["nose"])
    assert_allclose(heights["lips"], expected["lips"])
    rigid = mesh.rigid_share(scores)
    assert f"{rigid:.2f}" in ax.get_title()
    orange = [p for p in ax.patches if p.get_facecolor()[0] > 0.8]
    assert len(orange) == len(mesh.RIGID_REGIONS)
