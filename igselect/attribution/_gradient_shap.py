"""GradientSHAP: expected gradients with baselines drawn from a distribution.

For every sample ``x`` and ``n_samples`` draws ``j`` of a baseline ``b_j`` (a
row of ``baselines``), a point ``alpha_j ~ U(0, 1)`` on the straight path and
optional Gaussian noise ``eps_j`` of standard deviation ``stdevs`` on ``x``::

    phi(x) = 1/n_samples * sum_j (x - b_j) * dF(b_j + alpha_j (x + eps_j - b_j)) / dx

(Lundberg & Lee, 2017; Erion et al., 2021). It is a Monte-Carlo estimate of
Integrated Gradients averaged over the baseline distribution: for a linear
model ``F(x) = w . x`` it converges to ``(x - E[b]) * w``. The gradients run
through the shared core (:mod:`._gradients`), in fixed-shape batches of
``batch_size`` points.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._validation import Interval, IntInterval, RealNotInt, validate_params
from ._gradients import (
    GRADIENT_CONSTRAINTS,
    _check_baselines,
    _check_X,
    _resolve_model,
    draw_gradient_sum,
    prepare,
    use_jit,
)

__all__ = ["gradient_shap"]


@validate_params(
    {
        **GRADIENT_CONSTRAINTS,
        "n_samples": [IntInterval(1)],
        # finite and >= 0: a float in [0, inf) (bool rejected) or a non-negative int
        "stdevs": [Interval(RealNotInt, 0, np.inf, closed="left"), IntInterval(0)],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def gradient_shap(
    model,
    X,
    baselines,
    *,
    n_samples: int = 50,
    stdevs: float = 0.0,
    target: int = 1,
    batch_size: int | None = None,
    random_state=None,
    verbose: int = 0,
) -> np.ndarray:
    """GradientSHAP (expected gradients) of one output column, per input feature.

    Parameters
    ----------
    model : keras.Model, callable or fitted estimator
        Maps a float32 tensor ``(batch, *X.shape[1:])`` to ``(batch, n_outputs)``.
        An object with a ``model_`` attribute (a fitted
        :class:`~igselect.EmoClassifier`) is replaced by that Keras model.
    X : array-like of shape (n_samples_X, ...)
        Inputs to explain.
    baselines : array-like of shape (n_baselines, ...) or the shape of one sample
        The baseline distribution, e.g. training samples of the other classes.
        Each draw picks one row uniformly at random.
    n_samples : int, default=50
        Draws (gradient evaluations) per input.
    stdevs : float, default=0.0
        Standard deviation of the Gaussian noise added to ``x`` at each draw
        (in the units of ``X``); 0 for none.
    target : int, default=1
        Output column ``F = model(x)[:, target]``.
    batch_size : int, optional
        Points per gradient call (bounds peak memory). Results do not depend on
        it: all random draws are made in the same order whatever the batches.
    random_state : int, RandomState instance or None, default=None
        Seeds the baseline picks, the path points and the noise.
    verbose : int, default=0
        If > 0, show a progress bar over batches.

    Returns
    -------
    attributions : ndarray of the shape of X, float32

    Examples
    --------
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> f = lambda x: tf.matmul(x, tf.constant([[2.0], [-1.0]]))  # linear: exact
    >>> base = np.array([[0.0, 0.0], [2.0, 2.0]])
    >>> phi = gradient_shap(f, np.array([[3.0, 4.0]]), base, target=0, n_samples=400,
    ...                     random_state=0)
    >>> bool(np.allclose(phi, [[(3 - 1) * 2.0, -(4 - 1) * 1.0]], atol=0.3))
    True
    """
    model = _resolve_model(model)
    X_feed, out_shape = _check_X(model, X)
    B_pool = _check_baselines(baselines, X_feed, out_shape, per_sample=False)
    probe = np.concatenate([X_feed[:2], B_pool[:1]])
    runner, _, _, batch_size, _ = prepare(model, X_feed, target, batch_size, probe=probe)
    n, k = X_feed.shape[0], int(n_samples)
    rng = check_random_state(random_state)
    picks = rng.randint(B_pool.shape[0], size=n * k)
    alphas = rng.uniform(0.0, 1.0, size=n * k)
    noise = None
    if stdevs > 0:  # drawn in item order, whatever the batches
        noise_rng = np.random.default_rng(rng.randint(2**31))
        sample_shape = X_feed.shape[1:]

        def noise(rows):
            return noise_rng.normal(0.0, stdevs, size=(rows, *sample_shape)).astype(np.float32)

    jit = use_jit(runner, model, X_feed.shape[1:], n * k)
    total = draw_gradient_sum(runner, X_feed, B_pool, picks, alphas, k, batch_size, noise, jit=jit)
    return total.astype(np.float32).reshape(out_shape)
