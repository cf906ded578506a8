"""User-style Keras build functions for the KerasLandmarkClassifier tests.

Module-level (importable), so that estimators holding them clone, pickle and
unpickle in another process, as a user's own module would.
"""

from __future__ import annotations


def gru_logits(n_frames, n_landmarks, n_classes, units=8, dropout=0.0):
    """A GRU over the frames, returning logits (no softmax)."""
    import keras

    inputs = keras.Input((n_frames, 2, n_landmarks))
    x = keras.layers.Reshape((n_frames, 2 * n_landmarks))(inputs)
    x = keras.layers.GRU(units)(x)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x), name="gru")


def dense_softmax(n_frames, n_landmarks, n_classes, hidden=8, nonneg=False, seed=None):
    """A Sequential MLP ending in a softmax; takes the estimator's ``seed``.

    ``nonneg=True`` constrains the hidden kernel to non-negative values.
    """
    import keras

    init = keras.initializers.GlorotUniform(seed=seed)
    constraint = keras.constraints.NonNeg() if nonneg else None
    return keras.Sequential(
        [
            keras.Input((n_frames, 2, n_landmarks)),
            keras.layers.Flatten(),
            keras.layers.Dense(
                hidden,
                activation="relu",
                kernel_initializer=init,
                kernel_constraint=constraint,
                name="hidden",
            ),
            keras.layers.Dense(n_classes, activation="softmax"),
        ],
        name="mlp",
    )
