"""Landmark selection by dataset-level attribution.

:class:`GlobalAttributionSelector` trains a binary classifier of one class on
all landmarks, attributes its positive-class probability with a chosen method
(Integrated Gradients, GradientSHAP, saliency, input x gradient, Grad-CAM,
occlusion, or a user callable, as ``SelectFromModel(importance_getter=)``)
over the training samples of that class, and keeps the landmarks with the
largest mean absolute attribution.

:class:`GlobalIGSelector` is the paper's configuration (Di Luzio, Rosato &
Panella, 2024, steps 3-4): the same selector with multi-baseline Integrated
Gradients, one baseline per *other* class.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted, check_memory

from ._global_attribution import (
    ATTRIBUTIONS,
    AUTO_BASELINES,
    BASELINE_METHODS,
    _global_attribution_scores,
)
from ._global_ig import (
    N_LANDMARKS_CONSTRAINT,
    _fit_full_estimator,
    _fitted_key,
    _params_key,
    _resolve_n_landmarks,
)
from ._landmark_selector import RankedLandmarkSelectorMixin
from ._validation import (
    HasMethods,
    IntInterval,
    StrOptions,
    check_landmark_array,
    check_landmark_target,
    resolve_positive_class,
    validate_estimator_params,
)

__all__ = ["GlobalAttributionSelector", "GlobalIGSelector"]

_BASELINE_STRATEGIES = ("auto", "typical", "confident", "others", "zeros", "mean", "onset")
_INPUTS = ("positive", "all")
#: Median relative completeness residual above which ``fit`` warns.
_DELTA_TOLERANCE = 0.05
#: Floor of ``|F(x) - F(b)|`` in the relative residual, so that pairs whose
#: probabilities barely differ do not blow the ratio up.
_GAP_FLOOR = 1e-3


def _quadrature_methods() -> tuple[str, ...]:
    from .attribution._quadrature import QUADRATURE_METHODS

    return QUADRATURE_METHODS


# ----------------------------------------------------------------------------- estimator
class GlobalAttributionSelector(RankedLandmarkSelectorMixin, BaseEstimator):
    """Select landmarks by a dataset-level attribution of a classifier.

    For one ``positive_class``, ``fit`` trains a binary classifier on all
    landmarks (a clone of ``estimator``), attributes the positive-class
    probability of every input sample with the method ``attribution``, and
    scores each landmark by its absolute attribution summed over frames and
    coordinates (:func:`~igselect.attribution.aggregate_landmark_scores`),
    averaged over the inputs and then over the baselines of the methods
    that use baselines. ``transform`` keeps the ``n_landmarks`` best
    landmarks. With ``attribution="integrated_gradients"`` and the
    defaults it selects exactly as :class:`GlobalIGSelector`.

    Parameters
    ----------
    estimator : estimator, default=None
        Classifier exposing its fitted Keras model as ``model_`` (raw
        landmarks in, class probabilities out, column ``j`` the probability
        of ``classes_[j]``) and ``classes_``; ``"occlusion"`` and a callable
        ``attribution`` need only ``predict_proba`` and ``classes_``.
        ``None`` means ``EmoClassifier()``. If it has a ``positive_class``
        parameter it is set to the selector's positive class and the
        estimator receives the multi-class ``y`` (its ``classes_`` is then
        ``[0, 1]``); otherwise it receives 0/1 labels. The positive column is
        the position of the positive label in the fitted ``classes_``, so a
        prefit multi-class model works too.
    attribution : str or callable, default="integrated_gradients"
        The attribution method:

        - ``"integrated_gradients"``: IG against each baseline
          (:func:`~igselect.attribution.integrated_gradients`), with
          ``n_steps`` and ``method``;
        - ``"gradient_shap"``: expected gradients with the baselines as the
          reference distribution (:func:`~igselect.attribution.gradient_shap`);
        - ``"occlusion"``: the drop in the positive probability when a
          landmark takes its value in a baseline, in every frame
          (:func:`~igselect.attribution.occlusion`);
        - ``"input_x_gradient"``: ``(x - b) * dF/dx`` at each input,
          averaged over the baselines ``b``
          (:func:`~igselect.attribution.input_x_gradient`);
        - ``"saliency"``, ``"grad_cam"``: no baseline (``baselines`` is
          ignored);
        - a callable ``f(estimator, X, y, positive_class) -> scores`` of
          shape ``(n_landmarks,)``, called with the fitted estimator and the
          training data, like ``SelectFromModel(importance_getter=)``.

        "Choosing an attribution method" in the user guide compares them.
    n_landmarks : int, float or callable, default=64
        How many landmarks to keep: an int in ``[1, L]``; a float in
        ``(0, 1]``, the fraction ``max(1, floor(n_landmarks * L))`` (as
        :class:`~sklearn.feature_selection.RFE` rounds); or a callable
        ``f(L) -> int``. It only decides the cut: changing it with
        ``set_params`` after ``fit`` changes ``transform`` without refitting,
        and it is left out of the ``memory`` cache key.
    positive_class : label, default=None
        The class whose landmarks are selected. ``None`` takes the
        estimator's own ``positive_class`` if set, else, for binary ``y``,
        the larger label (sorted order); multi-class ``y`` then raises.
    classes : array-like, default=None
        All class labels of the problem. Classes listed here but absent from
        ``y`` get no "typical" or "confident" baseline; ``fit`` warns.
    baselines : {"auto", "typical", "confident", "others", "zeros", "mean", "onset"} \
or array-like, default="auto"
        Baselines of ``"integrated_gradients"``, ``"gradient_shap"``,
        ``"occlusion"`` and ``"input_x_gradient"``. ``"auto"`` is
        ``"typical"`` for IG and GradientSHAP (a contrast with the other
        classes, the paper's choice) and ``"mean"`` for occlusion and input x
        gradient (a landmark at its mean position carries no information,
        whereas landmark coordinates have no natural zero; the default used
        to be ``"typical"`` for every method, see "Choosing an attribution
        method" in the user guide). ``"typical"``, the standardised medoid of
        each other class; ``"confident"``, each other class's sample with the lowest
        positive probability; ``"others"``, every training sample of the
        other classes (GradientSHAP's natural reference distribution);
        ``"zeros"``; ``"mean"``, the mean training sequence; ``"onset"``
        (not GradientSHAP), each input's first frame repeated; or an array of shape
        (P, 2, L) or (k, P, 2, L). See :class:`GlobalIGSelector`.
    inputs : {"positive", "all"}, default="positive"
        Samples to attribute: the training samples of the positive class or
        all training samples.
    n_steps : int or "auto", default=64
        IG quadrature steps (``"integrated_gradients"`` only).
    method : str, default="riemann_right"
        IG quadrature rule (see :func:`igselect.attribution.quadrature`).
    batch_size : int, default=None
        Internal batch size of the attribution and probability passes.
    prefit : bool, default=False
        If True, ``estimator`` is already fitted on the full landmark set
        and is used as is.
    memory : None, str or joblib.Memory, default=None
        Cache of the training on all landmarks (keyed by the data and the
        estimator's class and parameters) and of the scores (keyed by the
        same plus every attribution parameter). ``n_landmarks`` and
        ``verbose`` are in neither key, so a grid search over
        ``n_landmarks`` trains and attributes once per fold.
    random_state : int, RandomState or None, default=None
        If not None, set as the ``random_state`` of the estimator clone;
        also seeds GradientSHAP's draws.
    verbose : int, default=0
        Show progress bars if > 0.
    attribution_params : dict, default=None
        Further keyword arguments of the attribution function, e.g.
        ``{"n_samples": 200, "stdevs": 0.01}`` for ``"gradient_shap"``,
        ``{"layer": "conv"}`` for ``"grad_cam"`` or ``{"groups": ...}`` for
        ``"occlusion"``.

    Attributes
    ----------
    estimator_ : estimator
        The classifier trained on all landmarks (or the prefit one).
    positive_class_ : label
        The positive class used.
    scores_ : ndarray of shape (n_landmarks_in_,)
        Mean absolute attribution per landmark.
    scores_per_baseline_ : ndarray of shape (n_rows, n_landmarks_in_)
        The same per baseline for IG, occlusion and input x gradient (one
        row per baseline); one row for the other methods. ``scores_`` is their mean.
    ranking_ : ndarray of shape (n_landmarks_in_,)
        Landmark indices, best first (``argsort(-scores_)``, stable).
    baselines_ : ndarray of shape (n_baselines, n_frames_in_, 2, n_landmarks_in_)
        The baselines used (none for the methods without baselines).
    baseline_labels_, baseline_indices_ : ndarray of shape (n_baselines,)
        Class and training index (-1 if none) of each baseline.
    deltas_, n_steps_, relative_delta_
        IG only (see :class:`GlobalIGSelector`); ``None`` for other methods.
    n_landmarks_ : int
        The resolved number of selected landmarks.
    n_landmarks_in_, n_frames_in_ : int
        Input landmark and frame counts seen in ``fit``.

    See Also
    --------
    GlobalIGSelector : The paper's configuration (Integrated Gradients).
    igselect.attribution.bias_report : Share of the scores on rigid regions.

    Examples
    --------
    >>> from igselect import EmoClassifier, GlobalAttributionSelector
    >>> from igselect.datasets import make_landmark_sequences
    >>> ds = make_landmark_sequences(n_samples=48, random_state=0)
    >>> clf = EmoClassifier(n_filters=2, lstm_units=4, dense_units=4, epochs=2,
    ...                     learning_rate=1e-2, random_state=0)
    >>> sel = GlobalAttributionSelector(clf, attribution="saliency", n_landmarks=4,
    ...                                 positive_class="class_0")
    >>> sel.fit(ds.data, ds.target).transform(ds.data).shape
    (48, 8, 2, 4)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "attribution": [StrOptions(set(ATTRIBUTIONS)), callable],
        "n_landmarks": N_LANDMARKS_CONSTRAINT,
        "positive_class": "no_validation",
        "classes": ["array-like", None],
        "baselines": [StrOptions(set(_BASELINE_STRATEGIES)), "array-like"],
        "inputs": [StrOptions(set(_INPUTS))],
        "n_steps": [IntInterval(1), StrOptions({"auto"})],
        "method": [StrOptions(set(_quadrature_methods()))],
        "batch_size": [IntInterval(1), None],
        "prefit": ["boolean"],
        "memory": [None, str, HasMethods(["cache"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "attribution_params": [dict, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        attribution: str | Callable = "integrated_gradients",
        n_landmarks: int | float | Callable[[int], int] = 64,
        positive_class=None,
        classes=None,
        baselines="auto",
        inputs: str = "positive",
        n_steps: int | str = 64,
        method: str = "riemann_right",
        batch_size: int | None = None,
        prefit: bool = False,
        memory=None,
        random_state=None,
        verbose: int = 0,
        attribution_params: dict | None = None,
    ):
        self.estimator = estimator
        self.attribution = attribution
        self.n_landmarks = n_landmarks
        self.positive_class = positive_class
        self.classes = classes
        self.baselines = baselines
        self.inputs = inputs
        self.n_steps = n_steps
        self.method = method
        self.batch_size = batch_size
        self.prefit = prefit
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose
        self.attribution_params = attribution_params

    # ------------------------------------------------------------------ configuration
    def _attribution(self):
        """The attribution method (a fixed name in subclasses such as GlobalIGSelector)."""
        return self.attribution

    def _attribution_params(self) -> dict | None:
        return self.attribution_params

    # ------------------------------------------------------------------ validation
    def _check_params(self, X):
        validate_estimator_params(self)
        _resolve_n_landmarks(self.n_landmarks, X.shape[3])
        attribution = self._attribution()
        if isinstance(self.baselines, str):
            if self.baselines == "auto":
                return AUTO_BASELINES.get(attribution) if isinstance(attribution, str) else None
            if self.baselines == "onset":
                if attribution == "gradient_shap":
                    raise ValueError(
                        "baselines='onset' gives one baseline per input, not a distribution to "
                        "draw from; use it with 'integrated_gradients' or 'occlusion'. "
                        f"Received: baselines='onset', attribution={attribution!r}"
                    )
                if X.shape[1] < 2:
                    raise ValueError(
                        "baselines='onset' repeats each sequence's first frame, so it needs "
                        "sequences of at least 2 frames (with 1 frame every input equals its "
                        f"baseline and all attributions are 0). Received: baselines='onset' "
                        f"with X.shape={X.shape}"
                    )
            return self.baselines
        base = np.asarray(self.baselines)
        if base.ndim == 3:
            base = base[None]
        base = check_landmark_array(base, name="baselines")
        if base.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"Array baselines must have shape {X.shape[1:]} or (k, *{X.shape[1:]}) to "
                f"match X. Received: baselines.shape={np.shape(self.baselines)}"
            )
        return base

    def _resolve_classes(self, y, estimator, baselines):
        present = np.unique(y)
        positive = self.positive_class
        if positive is None:
            positive = getattr(estimator, "get_params", dict)().get("positive_class")
        positive = resolve_positive_class(y, positive)
        complement = [c for c in present.tolist() if c != positive]
        if self.classes is not None:
            missing = [c for c in np.asarray(self.classes).tolist() if c not in present]
            if missing and isinstance(baselines, str) and baselines in ("typical", "confident"):
                warnings.warn(
                    f"Class(es) {missing!r} of `classes` have no samples in y, so they get no "
                    f"{baselines!r} baseline; using the classes present: {complement!r}.",
                    UserWarning,
                    stacklevel=3,
                )
        return positive, complement

    def _make_estimator(self, positive):
        if self.prefit:
            if self.estimator is None:
                raise ValueError("prefit=True needs a fitted estimator. Received: estimator=None")
            check_is_fitted(self.estimator)
            return self.estimator
        if self.estimator is None:
            from .classifier import EmoClassifier

            estimator = EmoClassifier()
        else:
            estimator = clone(self.estimator)
        params = estimator.get_params(deep=False)
        if "positive_class" in params:
            estimator.set_params(positive_class=positive)
        if self.random_state is not None and "random_state" in params:
            estimator.set_params(random_state=self.random_state)
        return estimator

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Train on all landmarks, compute the global attribution scores, rank the landmarks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences.
        y : array-like of shape (n_samples,)
            Class labels, normally multi-class: the classes other than
            ``positive_class`` give the "typical" / "confident" / "others"
            baselines.

        Returns
        -------
        self : object
            The fitted selector.
        """
        validate_estimator_params(self)  # the parameters before X, as sklearn's checks expect
        X = check_landmark_array(X)
        y = check_landmark_target(y, X.shape[0])
        baselines = self._check_params(X)
        positive, complement = self._resolve_classes(y, self.estimator, baselines)
        estimator = self._make_estimator(positive)
        binarised = not self.prefit and "positive_class" not in estimator.get_params(deep=False)
        if self.prefit:
            n_in = getattr(estimator, "n_landmarks_in_", X.shape[3])
            if n_in != X.shape[3]:
                raise ValueError(
                    f"The prefit estimator was fitted on {n_in} landmarks, X has {X.shape[3]}. "
                    f"Received: X.shape={X.shape}"
                )
            key = _fitted_key(estimator)
        else:
            key = _params_key(estimator)
        memory = check_memory(self.memory)
        if not self.prefit:
            fit_cached = memory.cache(_fit_full_estimator, ignore=["estimator"])
            estimator = fit_cached(
                X, y, estimator_key=key, positive_class=positive, estimator=estimator
            )
        attribution = self._attribution()
        uses_ig = attribution == "integrated_gradients"
        uses_baselines = isinstance(attribution, str) and attribution in BASELINE_METHODS
        scores_cached = memory.cache(_global_attribution_scores, ignore=["estimator", "verbose"])
        result = scores_cached(
            X,
            y,
            estimator_key=key,
            attribution=attribution,
            attribution_params=self._attribution_params(),
            positive_class=positive,
            binarised=binarised,
            complement=complement,
            baselines=baselines if uses_baselines else None,
            inputs=self.inputs,
            n_steps=self.n_steps if uses_ig else None,
            method=self.method if uses_ig else None,
            batch_size=self.batch_size,
            random_state=self.random_state if attribution == "gradient_shap" else None,
            estimator=estimator,
            verbose=self.verbose,
        )
        self.estimator_ = estimator
        self.positive_class_ = positive
        self.scores_per_baseline_ = result["scores_per_baseline"]
        self.scores_ = self.scores_per_baseline_.mean(axis=0)
        self.ranking_ = np.argsort(-self.scores_, kind="stable")
        self.baselines_ = result["baselines"]
        self.baseline_labels_ = result["baseline_labels"]
        self.baseline_indices_ = result["baseline_indices"]
        self.n_frames_in_ = X.shape[1]
        self.n_landmarks_in_ = X.shape[3]
        self.deltas_ = result.get("deltas")
        self.n_steps_ = result.get("n_steps")
        self.relative_delta_ = None
        if self.deltas_ is not None:
            self.relative_delta_ = float(
                np.median(np.abs(self.deltas_) / np.maximum(result["gaps"], _GAP_FLOOR))
            )
            if self.relative_delta_ > _DELTA_TOLERANCE:
                warnings.warn(
                    f"Integrated Gradients did not converge: the median relative completeness "
                    f"residual is {self.relative_delta_:.1%} (> {_DELTA_TOLERANCE:.0%}). Increase "
                    f"n_steps (Received: n_steps={self.n_steps!r}) or use method='gausslegendre'.",
                    UserWarning,
                    stacklevel=2,
                )
        return self

    # ------------------------------------------------------------------ selection
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.target_tags.required = True
        tags.non_deterministic = False
        return tags


# ----------------------------------------------------------------------------- the paper's
class GlobalIGSelector(GlobalAttributionSelector):
    """Select landmarks by dataset-level, multi-baseline Integrated Gradients.

    For one ``positive_class``, ``fit`` trains a binary classifier on all
    landmarks (a clone of ``estimator``), then, for every baseline and every
    input sample, computes the Integrated Gradients of the positive-class
    probability. The score of a landmark is ``|IG|`` summed over frames and
    coordinates, averaged over the input samples and then over the
    baselines. ``transform`` keeps the ``n_landmarks`` best landmarks.

    Parameters
    ----------
    estimator : estimator, default=None
        Binary classifier exposing its fitted Keras model as ``model_``
        (raw landmarks in, softmax ``(n, 2)`` out, column 1 the positive
        class). ``None`` means ``EmoClassifier()``. If it has a
        ``positive_class`` parameter it is set to the selector's positive
        class and the estimator receives the multi-class ``y``; otherwise it
        receives 0/1 labels.
    n_landmarks : int, float or callable, default=64
        How many landmarks to keep: an int in ``[1, L]``; a float in
        ``(0, 1]``, the fraction ``max(1, floor(n_landmarks * L))`` (as
        :class:`~sklearn.feature_selection.RFE` rounds); or a callable
        ``f(L) -> int``. It only decides the cut: changing it with
        ``set_params`` after ``fit`` changes ``transform`` without refitting
        (as ``threshold`` does in
        :class:`~sklearn.feature_selection.SelectFromModel`), and it is left
        out of the ``memory`` cache key.
    positive_class : label, default=None
        The class whose landmarks are selected. ``None`` takes the
        estimator's own ``positive_class`` if set, else, for binary ``y``,
        the larger label (sorted order); multi-class ``y`` then raises.
    baselines : {"typical", "confident", "zeros", "mean", "onset"} or \
array-like, default="typical"
        IG baselines.

        - ``"typical"``: one per complementary class, its medoid: the sample
          minimising the summed Euclidean distance to the other samples of
          its class, computed after per-coordinate standardisation (mean and
          std of each landmark coordinate over all training samples and
          frames), as the network standardises its input.
        - ``"confident"``: one per complementary class, the sample with the
          lowest positive-class probability (most confidently negative).
        - ``"zeros"``: one all-zero sequence.
        - ``"mean"``: one, the mean of the training sequences.
        - ``"onset"``: one per input sample, used for that sample only: its
          own first frame repeated over all ``P`` frames (needs ``P >= 2``).
          For onset-to-apex sequences such as CK+, where frame 0 is the
          person's neutral face, ``x - b`` is then the expression motion
          itself, not the difference between two people (the paper's other-
          class baselines also credit the landmarks that the *baseline's*
          expression moves, and identity differences). Not the paper's
          choice; use it when frame 0 is neutral.
        - array of shape (P, 2, L) or (k, P, 2, L): explicit baselines.
    inputs : {"positive", "all"}, default="positive"
        Samples to attribute: the training samples of the positive class (as
        in the paper) or all training samples.
    n_steps : int or "auto", default=64
        IG quadrature steps, passed to
        :func:`igselect.attribution.integrated_gradients`.
    method : str, default="riemann_right"
        Quadrature rule (see :func:`igselect.attribution.quadrature`).
    batch_size : int, default=None
        Internal batch size of the IG engine and of the probability passes.
    prefit : bool, default=False
        If True, ``estimator`` is already fitted on the full landmark set and
        is used as is (not refitted).
    memory : None, str or joblib.Memory, default=None
        Cache (:class:`joblib.Memory`) of the expensive part, in two stages:
        the training on all landmarks, keyed by the data and the estimator's
        class and parameters (after ``positive_class`` and ``random_state``
        are set on it), and the IG scores, keyed by the same plus the IG
        parameters (``baselines``, ``inputs``, ``n_steps``, ``method``,
        ``batch_size``). ``n_landmarks`` and ``verbose`` are in neither key,
        so a grid search over ``n_landmarks`` trains and attributes once per
        fold, and changing only an IG parameter does not retrain. A prefit
        estimator is keyed by its parameters and weights.
    random_state : int or None, default=None
        If not None, set as the ``random_state`` of the estimator clone
        (when it has one); the same value gives the same selection on CPU.
    classes : array-like, default=None
        All class labels of the problem. Classes listed here but absent from
        ``y`` (e.g. in a cross-validation fold) get no "typical" or
        "confident" baseline; ``fit`` warns and uses the classes present.
    verbose : int, default=0
        Show a progress bar over the baselines (with ``"onset"``, over the
        IG batches) if > 0.

    Attributes
    ----------
    estimator_ : estimator
        The classifier trained on all landmarks (or the prefit one).
    positive_class_ : label
        The positive class used.
    scores_ : ndarray of shape (n_landmarks_in_,)
        Mean ``|IG|`` per landmark, averaged over inputs and baselines.
    scores_per_baseline_ : ndarray of shape (n_baselines, n_landmarks_in_)
        The same, per baseline. With ``baselines="onset"`` there is one
        baseline per input sample, so row ``i`` is the score of input ``i``
        alone (``n_baselines = n_inputs``) and ``scores_`` is their mean.
    ranking_ : ndarray of shape (n_landmarks_in_,)
        Landmark indices, best first (``argsort(-scores_)``, stable).
    baselines_ : ndarray of shape (n_baselines, n_frames_in_, 2, n_landmarks_in_)
        The baselines used (with ``"onset"``, in the order of the inputs).
    baseline_labels_ : ndarray of shape (n_baselines,), object
        The class of each baseline (``"zeros"``, ``"mean"``, ``"onset"`` or
        ``"array_<j>"`` for the other strategies).
    baseline_indices_ : ndarray of shape (n_baselines,)
        Index in the training data of each baseline sample (with
        ``"onset"``: of the input whose first frame it repeats), -1 if none.
    deltas_ : ndarray of shape (n_baselines, n_inputs_per_baseline)
        Completeness residuals ``sum(IG) - (F(x) - F(b))``; every input per
        baseline (``(n_baselines, n_inputs)``), except with ``"onset"``,
        where each baseline has its one input (``(n_inputs, 1)``).
    n_steps_ : ndarray of shape (n_baselines,)
        Quadrature steps used per baseline (differs from ``n_steps`` only
        with ``n_steps="auto"``).
    relative_delta_ : float
        Median of ``|delta| / max(|F(x) - F(b)|, 1e-3)``; ``fit`` warns
        when it exceeds 5% (raise ``n_steps``).
    n_landmarks_ : int
        The resolved number of selected landmarks (follows ``n_landmarks``).
    n_landmarks_in_, n_frames_in_ : int
        Input landmark and frame counts seen in ``fit``.

    Examples
    --------
    >>> from igselect import EmoClassifier, GlobalIGSelector
    >>> from igselect.datasets import make_landmark_sequences
    >>> ds = make_landmark_sequences(n_samples=48, random_state=0)
    >>> clf = EmoClassifier(n_filters=2, lstm_units=4, dense_units=4, epochs=2,
    ...                     learning_rate=1e-2, random_state=0)
    >>> sel = GlobalIGSelector(clf, n_landmarks=4, positive_class="class_0", n_steps=8)
    >>> sel.fit(ds.data, ds.target).transform(ds.data).shape
    (48, 8, 2, 4)
    """

    _parameter_constraints: dict = {
        name: constraint
        for name, constraint in GlobalAttributionSelector._parameter_constraints.items()
        if name not in ("attribution", "attribution_params")
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_landmarks: int | float | Callable[[int], int] = 64,
        positive_class=None,
        baselines="typical",
        inputs: str = "positive",
        n_steps: int | str = 64,
        method: str = "riemann_right",
        batch_size: int | None = None,
        prefit: bool = False,
        memory=None,
        random_state: int | None = None,
        classes=None,
        verbose: int = 0,
    ):
        self.estimator = estimator
        self.n_landmarks = n_landmarks
        self.positive_class = positive_class
        self.baselines = baselines
        self.inputs = inputs
        self.n_steps = n_steps
        self.method = method
        self.batch_size = batch_size
        self.prefit = prefit
        self.memory = memory
        self.random_state = random_state
        self.classes = classes
        self.verbose = verbose

    def _attribution(self):
        return "integrated_gradients"

    def _attribution_params(self) -> dict | None:
        return None
