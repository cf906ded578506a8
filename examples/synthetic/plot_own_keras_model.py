"""
==================================================
Your own Keras network: a GRU, six classes, and IG
==================================================

:class:`~igselect.KerasLandmarkClassifier` makes any Keras network a
scikit-learn classifier of landmark sequences ``(n, frames, 2, landmarks)``.
You write ``build_fn(n_frames, n_landmarks, n_classes, **build_params)``; the
estimator trains it (the compiled epoch loop of
:class:`~igselect.EmoClassifier`), standardises inside the model, pickles it,
and exposes ``model_``: raw landmarks in, probabilities out, one column per
entry of ``classes_``, which is what the attribution selectors use.

The data are the built-in **semi-synthetic** expressions
(:func:`~igselect.datasets.make_expression_sequences`: real neutral faces,
synthetic FACS motion), so we know which landmarks each emotion moves.
"""

# %%
# The network: any Keras model
# ----------------------------
# It returns logits here; the estimator sees that the outputs are not
# probabilities and appends a softmax to ``model_``.
import keras
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from igselect import GlobalIGSelector, KerasLandmarkClassifier
from igselect.datasets import make_expression_sequences
from igselect.landmarks import LandmarkAligner


def gru_net(n_frames, n_landmarks, n_classes, units=16):
    inputs = keras.Input((n_frames, 2, n_landmarks))
    x = keras.layers.Reshape((n_frames, 2 * n_landmarks))(inputs)
    x = keras.layers.GRU(units)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x))


data = make_expression_sequences(n_subjects=12, n_frames=4, random_state=0)
net = dict(epochs=30, learning_rate=1e-2, validation_fraction=0, random_state=0)

# %%
# Six classes at once
# -------------------
six = KerasLandmarkClassifier(gru_net, units=32, **net)
six.fit(LandmarkAligner().fit_transform(data.data), data.target)
print(six.classes_, six.model_.output_shape, [layer.name for layer in six.model_.layers])

# %%
# One emotion against the rest, landmarks chosen by Integrated Gradients
# ----------------------------------------------------------------------
# ``units`` is a parameter of the estimator, so the grid search tunes it as
# ``clf__units`` next to the number of landmarks kept.
pipe = Pipeline(
    [
        ("align", LandmarkAligner()),
        (
            "select",
            GlobalIGSelector(
                KerasLandmarkClassifier(gru_net, **net), positive_class="happiness", n_steps=32
            ),
        ),
        ("clf", KerasLandmarkClassifier(gru_net, positive_class="happiness", **net)),
    ]
)
grid = GridSearchCV(
    pipe,
    {"select__n_landmarks": [16, 64], "clf__units": [8, 16]},
    cv=GroupKFold(n_splits=3),
)
grid.fit(data.data, data.target, groups=data.subject)
print(grid.best_params_, round(grid.best_score_, 2))
top = grid.best_estimator_.named_steps["select"].ranking_[:16]
print(
    "share of the top 16 that the smile moves:",
    np.isin(top, data.relevant_landmarks["happiness"]).mean(),
)
