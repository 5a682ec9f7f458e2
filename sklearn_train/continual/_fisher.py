"""The exact diagonal of the empirical Fisher information, per sample.

For a dense layer ``z = a W + b`` the gradient of row ``i``'s loss with respect to
``W[j, k]`` is ``a_i[j] * d_i[k]`` (``d_i = dloss_i / dz_i``, the row's delta), so the
mean of the squared per-row gradients is one matrix product of squares::

    F_W = (A ** 2).T @ (D ** 2) / n        F_b = mean(D ** 2, axis=0)

This is the empirical Fisher (the true labels, not labels drawn from the model) and
the exact mean of squared per-sample gradients, not the square of a mini-batch's
mean gradient (which Avalanche's EWC uses and which shrinks with the batch size).
Rows count equally (sample and class weights are ignored); a network is evaluated
without dropout. NumPy throughout: it runs once per task.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import erf

from .._core import losses, mlp

_INV_SQRT2 = 1.0 / np.sqrt(2.0)


def output_deltas(code, Z, Y, param):
    """``dloss / dz`` of every row (``Z`` raw outputs, ``Y`` encoded targets, see
    ``_core.losses``): the loss's derivative as the kernels compute it, for the
    losses elastic weight consolidation supports; NaN targets give 0."""
    Z = np.asarray(Z, dtype=np.float64)
    observed = ~np.isnan(Y)
    Yf = np.where(observed, Y, 0.0)
    if code == losses.SOFTMAX_LOG:
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        return np.where(observed.all(axis=1, keepdims=True), P - Yf, 0.0)
    if code == losses.SQUARED:
        D = Z - Yf
    elif code in (losses.LOG, losses.HINGE, losses.SQUARED_HINGE):
        m = Yf * Z
        if code == losses.LOG:
            dm = -0.5 * (1.0 - np.tanh(0.5 * m))  # -sigmoid(-m), without overflow
        elif code == losses.HINGE:
            dm = np.where(m < 1.0, -1.0, 0.0)
        else:
            dm = np.where(m < 1.0, -2.0 * (1.0 - m), 0.0)
        D = Yf * dm
    else:
        raise ValueError(
            "ewc supports the losses 'log_loss', 'hinge', 'squared_hinge' and "
            "'squared_error' (their per-sample gradients are computed here); this "
            "model's loss is another.")
    return np.where(observed, D, 0.0)


def _squares(X):
    """``X ** 2`` (float64; sparse stays sparse)."""
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float64).power(2)
    return np.asarray(X, dtype=np.float64) ** 2


def linear_fisher(estimator, X, y):
    """Diagonal Fisher of a fitted linear model of ours at its parameters, in the
    layout of its parameter vector (``coef`` rows, then the intercepts)."""
    Z = estimator._raw_outputs(X)
    Y, _ = estimator._encode_targets(y, None, False)
    D2 = output_deltas(estimator._loss_code(), Z, Y, estimator._loss_param()) ** 2
    n = D2.shape[0]
    F_W = np.asarray(_squares(X).T @ D2).T / n  # (n_outputs, n_features)
    return np.concatenate([F_W.ravel(), D2.mean(axis=0)])


def activate(code, Z):
    """``act(Z)`` of ``_core.mlp``'s activation ``code``."""
    if code == mlp.RELU:
        return np.maximum(Z, 0.0)
    if code == mlp.LEAKY_RELU:
        return np.where(Z > 0.0, Z, mlp.LEAKY_SLOPE * Z)
    if code == mlp.GELU:
        return 0.5 * Z * (1.0 + erf(Z * _INV_SQRT2))
    if code == mlp.TANH:
        return np.tanh(Z)
    if code == mlp.LOGISTIC:
        return 0.5 * (1.0 + np.tanh(0.5 * Z))
    return Z


def slope(code, Z):
    """``act'(Z)``."""
    if code == mlp.RELU:
        return (Z > 0.0).astype(np.float64)
    if code == mlp.LEAKY_RELU:
        return np.where(Z > 0.0, 1.0, mlp.LEAKY_SLOPE)
    if code == mlp.GELU:
        return 0.5 * (1.0 + erf(Z * _INV_SQRT2)) + Z * np.exp(-0.5 * Z * Z) / np.sqrt(
            2.0 * np.pi)
    if code == mlp.TANH:
        return 1.0 - np.tanh(Z) ** 2
    if code == mlp.LOGISTIC:
        s = 0.5 * (1.0 + np.tanh(0.5 * Z))
        return s * (1.0 - s)
    return np.ones_like(Z)


def mlp_fisher(estimator, X, y):
    """Diagonal Fisher of a fitted network of ours (``MLPClassifier``,
    ``MLPRegressor``) at its parameters, in the layout of its parameter vector
    (each layer's weights, then its biases)."""
    X = estimator._check_input(X)
    state = estimator._predicting_state()
    layout, params = state["layout"], np.asarray(state["params"], dtype=np.float64)
    inputs, pre = [], []  # each layer's input activations and pre-activations
    below = X
    for row in layout:
        W = params[row[mlp.L_WEIGHTS]:row[mlp.L_BIASES]].reshape(row[mlp.L_IN],
                                                                 row[mlp.L_OUT])
        b = params[row[mlp.L_BIASES]:row[mlp.L_BIASES] + row[mlp.L_OUT]]
        inputs.append(below)
        Z = np.asarray(below @ W, dtype=np.float64) + b
        pre.append(Z)
        below = activate(row[mlp.L_ACTIVATION], Z)
    Y, _ = estimator._encode_targets(y, None, False)
    D = output_deltas(estimator._loss_code(), pre[-1], Y, estimator._loss_param())
    n = D.shape[0]
    fisher = np.zeros(params.shape[0])
    for layer in range(layout.shape[0] - 1, -1, -1):
        row = layout[layer]
        weights, biases = row[mlp.L_WEIGHTS], row[mlp.L_BIASES]
        D2 = D * D
        fisher[weights:biases] = np.asarray(_squares(inputs[layer]).T @ D2).ravel() / n
        fisher[biases:biases + row[mlp.L_OUT]] = D2.mean(axis=0)
        if layer > 0:
            W = params[weights:biases].reshape(row[mlp.L_IN], row[mlp.L_OUT])
            D = (D @ W.T) * slope(layout[layer - 1, mlp.L_ACTIVATION], pre[layer - 1])
    return fisher


def supports_ewc(estimator):
    """Whether ``estimator`` is a model whose Fisher this module computes and whose
    kernel carries the anchored penalty: our linear models and MLPs (not the
    Autoencoder, whose targets are its inputs)."""
    from ..linear_model._base import BaseLinear
    from ..neural_network import MLPClassifier, MLPRegressor

    return isinstance(estimator, (BaseLinear, MLPClassifier, MLPRegressor))


def diagonal_fisher(estimator, X, y):
    """The diagonal Fisher of a fitted ``supports_ewc`` model on ``(X, y)``, in the
    layout of its parameter vector."""
    from ..linear_model._base import BaseLinear

    if isinstance(estimator, BaseLinear):
        return linear_fisher(estimator, X, y)
    return mlp_fisher(estimator, X, y)


def parameter_vector(estimator):
    """The parameters that predict, as one float64 vector in the kernel's layout."""
    from ..linear_model._base import BaseLinear
    from ..linear_model._problem import model_parameters

    if isinstance(estimator, BaseLinear):
        coef, intercept = model_parameters(estimator._state, estimator.n_features_in_)
        return np.concatenate([coef.ravel(), intercept]).astype(np.float64)
    return np.asarray(estimator._predicting_state()["params"], dtype=np.float64)
