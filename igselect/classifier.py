"""The scikit-learn classifiers around Keras networks of landmark sequences.

:class:`KerasLandmarkClassifier` takes any Keras network (a ``build_fn``);
:class:`EmoClassifier` is the paper's configuration of it: the T-EMO / R-EMO
network of :func:`igselect.network.build_emo_network`, binary, with the
paper's hyper-parameters as its own parameters. Both validate their
parameters in :meth:`fit`, keep fitted state in attributes with a trailing
underscore, and pickle (the Keras model travels in its native ``.keras``
format).
"""

from __future__ import annotations

from functools import partial

from igselect import network as _network
from igselect._keras_classifier import _TRAINING_CONSTRAINTS, KerasLandmarkClassifier
from igselect._validation import Interval, IntInterval, Real
from igselect.network import _as_kernel, build_emo_network

__all__ = ["EmoClassifier", "KerasLandmarkClassifier"]


class EmoClassifier(KerasLandmarkClassifier):
    """Binary Conv2D + LSTM classifier of landmark sequences (T-EMO / R-EMO).

    One network of Di Luzio, Rosato & Panella (2024) per emotion: a per-frame
    Conv2D with ``n_filters`` filters and ReLU, BatchNorm, Flatten, an LSTM
    with ``lstm_units`` units, Dropout, a ReLU Dense layer with
    ``dense_units`` units and a 2-way softmax (see
    :func:`~igselect.network.build_emo_network`). It is the paper's
    configuration of :class:`KerasLandmarkClassifier`: the same training,
    validation, standardisation, pickling and ``model_`` contract, with the
    network's hyper-parameters as parameters of its own.

    Parameters
    ----------
    n_filters : int, default=32
        F, the number of conv filters.
    lstm_units : int, default=32
        Q, the LSTM width.
    dense_units : int, default=32
        R, the width of the ReLU layer FC1.
    kernel_size : int or (int, int), default=(2, 1)
        Conv kernel over each ``(2, n_landmarks)`` frame; the default combines
        the x and y of one landmark (see
        :data:`igselect.network.DEFAULT_KERNEL_SIZE`).
    dropout : float, default=0.2
        Dropout rate after the LSTM, in ``[0, 1)``.
    randomized : bool, default=False
        False trains every layer (T-EMO); True keeps the conv filters at their
        random initial values (R-EMO, the paper's fast variant).
    positive_class : label or None, default=None
        None: ``y`` must hold exactly two labels and the larger one (sorted
        order) is the positive class. Otherwise ``y`` may be multi-class and
        is binarised as ``y == positive_class`` (one-vs-rest);
        ``classes_`` is then ``[0, 1]`` with 1 the positive class, and
        :meth:`score` binarises ``y`` the same way, so a Pipeline can be
        given the multi-class ``y``.
    standardize : bool, default=True
        Standardise each coordinate of each landmark with the mean and
        standard deviation of the training data (over samples and frames),
        inside the Keras model (see Notes).
    learning_rate : float, default=1e-4
        Adam learning rate (the paper's value; small data sets usually need a
        larger one, e.g. 1e-3 to 1e-2).
    batch_size : int, default=16
        Mini-batch size.
    epochs : int, default=50
        Maximum number of epochs.
    validation_fraction : float, default=0.1
        Fraction of the training data held out, by a stratified split, to
        monitor the (class-weighted) ``val_loss`` for early stopping. 0
        disables validation and early stopping. They are also skipped, with a :class:`UserWarning`,
        when the data are too small for a stratified split (fewer than 2
        held-out or 2 remaining samples, or a class with a single sample).
    patience : int, default=10
        Epochs without improvement of ``val_loss`` before training stops;
        the weights of the best epoch are restored.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss. A dict maps the labels of
        ``classes_`` to weights; "balanced" uses
        ``n_samples / (2 * np.bincount(y))``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisers, the dropout masks, the validation
        split and the shuffling of the mini-batches. An int makes
        :meth:`fit` repeatable on the CPU. No global seed (NumPy, Python,
        TensorFlow) is set or changed.
    verbose : int or bool, default=0
        0 (False) is silent, 1 (True) prints one line per fit with its
        duration and final losses, 2 also prints Keras' one-line-per-epoch
        log.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The labels: the two labels of ``y``, or ``[0, 1]`` when
        ``positive_class`` is set. Column 1 of :meth:`predict_proba` is
        ``classes_[1]``, the positive class.
    positive_class_ : label
        The positive class in terms of the original ``y``.
    model_ : keras.Model
        The trained network: raw landmark coordinates
        ``(batch, n_frames, 2, n_landmarks)`` in, softmax ``(batch, 2)`` out.
        Standardisation is its first layer, so gradients (and Integrated
        Gradients) are with respect to raw coordinates.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (the class-weighted training loss, averaged over
        the epoch's mini-batches) and ``accuracy`` (on the training batches,
        in training mode), plus ``val_loss`` (class-weighted) and
        ``val_accuracy`` at the end of each epoch when a validation set was
        used.
    n_iter_ : int
        Number of epochs run (fewer than ``epochs`` after early stopping).
    epoch_times_ : ndarray of shape (n_iter_,)
        Wall-clock seconds of each epoch (its training steps and validation).
        The first one includes tracing and optimising the compiled epoch
        function, so the compute time per epoch is best read as the median
        of ``epoch_times_[1:]``.
    n_frames_in_ : int
        Number of frames P seen in :meth:`fit`.
    n_landmarks_in_ : int
        Number of landmarks L seen in :meth:`fit`.
    fit_time_ : float
        Wall-clock duration of :meth:`fit` in seconds.

    See Also
    --------
    igselect.network.build_emo_network : The Keras network itself.
    igselect.GlobalIGSelector : Ranks landmarks by Integrated Gradients of
        this classifier.

    Notes
    -----
    **T-EMO vs R-EMO.** T-EMO trains every layer. R-EMO freezes the conv
    filters at their seeded random initial values, so only BatchNorm, the
    LSTM and the dense layers learn; the paper reports similar accuracy at a
    lower training cost.

    **Loss.** The output is a 2-column softmax. The loss is sparse
    categorical cross-entropy on 0/1 labels, which equals binary
    cross-entropy on the positive-class probability.

    **Why standardise inside the model.** An expression moves landmarks by
    only about 3% of the face radius, much less than faces differ between
    people. On the London neutral/smile faces a small Conv2D+LSTM on raw
    coordinates scored at chance (0.50); per-face centring and scaling plus
    per-coordinate standardisation reached 0.83-0.89. Faces are best
    aligned beforehand (e.g. by a Procrustes transformer); this estimator
    then standardises each coordinate with training statistics. Doing so in
    a Keras ``Normalization`` layer, rather than in a separate transformer,
    keeps ``model_`` a function of raw coordinates, so attributions refer to
    raw landmarks.

    **Training loop.** Each epoch is one call of a compiled ``tf.function``
    that runs all of its mini-batch steps (Adam on the class-weighted sparse
    categorical cross-entropy) and the validation pass; early stopping
    follows ``keras.callbacks.EarlyStopping(monitor="val_loss",
    restore_best_weights=True)``. On the few hundred samples of a facial
    expression data set, Keras' ``Model.fit`` spent most of an epoch outside
    the computation (one graph call per step, a separate ``evaluate`` run per
    epoch), so the time per epoch hardly depended on the network size; here
    it does. The compiled epoch belongs to a trainer that is cached per
    network configuration and reused by later fits of the same
    configuration (each fit copies its freshly initialised network in and
    the trained one out), so a grid search or a benchmark traces each
    configuration once instead of once per fit. ``model_`` is left
    uncompiled.

    **Repeatability.** With an int ``random_state``, fitting twice on the
    CPU gives the same predictions. GPU kernels (cuDNN LSTM) are not
    guaranteed bit-repeatable.

    **Pickling.** ``pickle`` and ``joblib`` store ``model_`` as the bytes of
    a native ``.keras`` file; unpickling loads it with
    :func:`keras.models.load_model`.

    Examples
    --------
    >>> import numpy as np
    >>> from igselect import EmoClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4, 2, 10)).astype("float32")
    >>> y = np.repeat(["happy", "sad"], 20)
    >>> X[y == "happy", :, 1, :3] += 1.0
    >>> clf = EmoClassifier(n_filters=4, lstm_units=8, dense_units=8, epochs=20,
    ...                     learning_rate=1e-2, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['happy', 'sad'], dtype='<U5')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "n_filters": [IntInterval(1)],
        "lstm_units": [IntInterval(1)],
        "dense_units": [IntInterval(1)],
        "kernel_size": [IntInterval(1), tuple, list],  # the pair is checked in fit
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "randomized": ["boolean"],
        **_TRAINING_CONSTRAINTS,
    }
    _binary_only = True

    def __init__(
        self,
        n_filters: int = 32,
        lstm_units: int = 32,
        dense_units: int = 32,
        kernel_size=(2, 1),
        dropout: float = 0.2,
        randomized: bool = False,
        positive_class=None,
        standardize: bool = True,
        learning_rate: float = 1e-4,
        batch_size: int = 16,
        epochs: int = 50,
        validation_fraction: float = 0.1,
        patience: int = 10,
        class_weight=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_filters = n_filters
        self.lstm_units = lstm_units
        self.dense_units = dense_units
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.randomized = randomized
        self.positive_class = positive_class
        self.standardize = standardize
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self) -> None:
        super()._validate_params()
        _as_kernel(self.kernel_size)

    def _describe(self) -> str:
        return "R-EMO " if self.randomized else "T-EMO "

    def _build_network(self, n_classes: int, seed: int, mean, std, X_probe):
        """The paper's network, standardisation inside, softmax output."""
        del n_classes, X_probe  # always 2 classes; always probabilities
        build_kwargs = dict(
            n_frames=self.n_frames_in_,
            n_landmarks=self.n_landmarks_in_,
            n_filters=int(self.n_filters),
            lstm_units=int(self.lstm_units),
            dense_units=int(self.dense_units),
            kernel_size=_as_kernel(self.kernel_size),
            dropout=float(self.dropout),
            randomized=bool(self.randomized),
        )
        model = build_emo_network(**build_kwargs, seed=seed, mean=mean, std=std)
        key = (
            tuple(sorted(build_kwargs.items())),
            float(self.learning_rate),
            int(self.batch_size),
        )
        # The template has no standardisation layer; its values are overwritten.
        template = partial(_network.build_emo_network, **build_kwargs, seed=0)
        return model, model, key, template, False
