"""plot_attribution_on_face and ``igselect explain`` end to end."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import joblib
import matplotlib
import numpy as np
import pytest

from igselect.cli import main
from igselect.plotting import plot_attribution_on_face

matplotlib.use("Agg")

_LONDON = Path(__file__).resolve().parents[1] / "igselect/datasets/data/london_landmarks.npz"


# ----------------------------------------------------------------------------- overlay
def _heat_layer(ax):
    return ax.get_images()[-1].get_array()


def test_overlay_peaks_at_the_scored_landmark():
    image = np.full((200, 160, 3), 120, dtype=np.uint8)
    grid = np.stack(np.meshgrid(np.linspace(30, 130, 6), np.linspace(30, 170, 8))).reshape(2, -1)
    scores = np.zeros(grid.shape[1])
    scores[13] = -5.0  # absolute values are drawn
    ax = plot_attribution_on_face(image, grid, scores, sigma=6.0)
    heat = _heat_layer(ax)
    assert heat.shape == (200, 160, 4)
    rows, cols = np.nonzero(heat[..., 3] == heat[..., 3].max())  # the hot spot
    assert abs(cols.mean() + 0.5 - grid[0, 13]) <= 1 and abs(rows.mean() + 0.5 - grid[1, 13]) <= 1
    assert rows.size < 40**2  # a spot of about sigma, not the whole face
    assert heat[0, 0, 3] == 0  # outside the face: no colour
    assert not ax.axison and ax.get_xlim() == (-0.5, 159.5)
    matplotlib.pyplot.close("all")


def test_overlay_bad_input():
    image = np.zeros((50, 50))
    points = np.random.RandomState(0).uniform(10, 40, (2, 5))
    with pytest.raises(ValueError, match="landmarks.shape"):
        plot_attribution_on_face(image, points.T, np.ones(5))
    with pytest.raises(ValueError, match=r"scores.shape=\(4,\)"):
        plot_attribution_on_face(image, points, np.ones(4))
    with pytest.raises(ValueError, match=r"'sigma' parameter of plot_attribution_on_face .*Got 0 "):
        plot_attribution_on_face(image, points, np.ones(5), sigma=0)
    with pytest.raises(ValueError, match="Cannot read"):
        plot_attribution_on_face("nope.png", points, np.ones(5))
    matplotlib.pyplot.close("all")


def test_extractor_returns_pixel_coordinates(shared_dir, face_model):
    from igselect.landmarks import FaceMeshExtractor

    photo = shared_dir / "media" / "single_face.jpg"
    with FaceMeshExtractor(face_model) as ext:
        uv, (x0, y0, side) = ext.image(photo, return_crop=True)
        pixels = ext.image(photo, coordinates="pixels")
        with pytest.raises(ValueError, match="coordinates='image'"):
            ext.image(photo, coordinates="image")
    np.testing.assert_allclose(pixels[0], x0 + uv[0] * side, rtol=1e-5)
    np.testing.assert_allclose(pixels[1], y0 + uv[1] * side, rtol=1e-5)
    assert pixels.shape == (2, 468) and pixels.max() > 1.5  # pixels, not [0, 1]


# ----------------------------------------------------------------------------- igselect explain
@pytest.fixture(scope="module")
def saved_pipeline(tmp_path_factory):
    """A small aligner -> selector -> classifier pipeline on the shipped London landmarks."""
    from sklearn.pipeline import Pipeline

    from igselect import EmoClassifier, GlobalAttributionSelector
    from igselect.landmarks import LandmarkAligner

    london = np.load(_LONDON)
    X = np.concatenate([london["neutral"], london["smiling"]])[:, None]
    y = np.array(["neutral"] * 60 + ["smiling"] * 60)
    net = dict(n_filters=4, lstm_units=8, dense_units=8, learning_rate=1e-2, epochs=15)
    net.update(validation_fraction=0, random_state=0)
    pipe = Pipeline(
        [
            ("align", LandmarkAligner()),
            (
                "select",
                GlobalAttributionSelector(
                    EmoClassifier(**net), n_landmarks=32, positive_class="smiling", n_steps=8
                ),
            ),
            ("clf", EmoClassifier(positive_class="smiling", **net)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe.fit(X, y)
    path = tmp_path_factory.mktemp("model") / "pipe.joblib"
    joblib.dump(pipe, path)
    return path, pipe


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_explain_a_photo_end_to_end(shared_dir, face_model, saved_pipeline, tmp_path, method):
    from igselect._explain import explain

    path, pipe = saved_pipeline
    photo = tmp_path / "smiling_001.jpg"
    shutil.copy(shared_dir / "data" / "london" / "smiling" / "001.jpg", photo)
    out = tmp_path / "explain.png"
    result = explain(photo, path, out, method=method, face_model=face_model, n_steps=16)
    assert out.is_file() and out.stat().st_size > 10_000
    assert result.label == "smiling" and 0 <= result.probability <= 1
    kept = pipe.named_steps["select"].get_support()
    assert np.all(result.scores[~kept] == 0) and result.scores[kept].max() > 0
    assert result.landmarks.shape == (2, 468) and result.landmarks.max() > 50  # pixels


def test_explain_cli(shared_dir, face_model, saved_pipeline, tmp_path, capsys):
    path, _ = saved_pipeline
    video = shared_dir / "media" / "single_face.mp4"
    out = tmp_path / "frame.png"
    argv = ["explain", str(video), "--model", str(path), "-o", str(out)]
    assert main([*argv, "--face-model", str(face_model), "--method", "saliency"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("P(smiling) = ") and out.is_file()


def test_explain_bad_model_and_missing_input(
    shared_dir, face_model, saved_pipeline, tmp_path, capsys
):
    photo = shared_dir / "media" / "single_face.jpg"
    corrupt = tmp_path / "corrupt.joblib"
    corrupt.write_bytes(b"not a pickle at all")
    out = tmp_path / "x.png"
    common = ["-o", str(out), "--face-model", str(face_model)]
    assert main(["explain", str(photo), "--model", str(corrupt), *common]) == 1
    err = capsys.readouterr().err
    assert "cannot load a fitted model" in err and "Traceback" not in err
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    assert main(["explain", str(photo), "--model", str(tmp_path / "dict.joblib"), *common]) == 1
    assert "not a fitted classifier" in capsys.readouterr().err
    assert main(["explain", str(photo), "--model", str(tmp_path / "none.joblib"), *common]) == 1
    assert "model file not found" in capsys.readouterr().err
    path, _ = saved_pipeline
    assert main(["explain", str(tmp_path / "no.jpg"), "--model", str(path), *common]) == 1
    err = capsys.readouterr().err
    assert "input not found" in err and "Traceback" not in err
    assert not out.exists()
