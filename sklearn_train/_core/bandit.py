"""Compiled rounds of contextual bandits: exploration rules, value heads, ridge statistics.

A policy's state is one tuple ``state = (params, moments, steps, inverse, theta,
counters)``:

* ``params`` holds the linear value heads, one per (bag, action), each ``n_features``
  weights followed by its intercept (head ``h`` at ``h * (n_features + 1)``); they
  learn by the core's own ``optimizers.apply`` on the squared error, one row at a
  time, exactly as a ``LinearRegressor`` with ``batch_size=1`` would (``moments`` its
  optimizer state, ``steps`` the steps each head has taken: its schedule and Adam's
  bias correction);
* ``inverse`` (actions x d x d, ``d = n_features + 1``) and ``theta`` (actions x d)
  are ridge statistics of the contexts each action saw, ``(I + sum x x^T)^-1`` and
  the ridge estimate, updated by Sherman-Morrison and the recursive least-squares
  step in O(d^2) a row (LinUCB, LinTS; RegCB's confidence widths);
* ``counters``: rounds learned, actions sampled.

Policies without heads or without ridge statistics get arrays of length 0 there.
Settings arrive packed in ``ints`` and ``floats`` (indices below, the optimizer's
hyper-parameters after ``N_FLOATS``). Every random draw is addressed: sampling by the
count of actions sampled, the bootstrap's Poisson weights by the count of rounds
learned, Thompson draws by the rounds learned and the context's bits, so a policy
gives the same actions for a seed whichever path (batch, row by row) it runs.
"""

import math

import numpy as np

from ._jit import kernel, sqrt
from .data import mix, uniform
from .linear import _weight_gradient
from .normal import normal
from .optimizers import N_STEP, apply, begin_step

GREEDY = 0
EPSILON_GREEDY = 1
SOFTMAX = 2
SQUARECB = 3
BOOTSTRAP = 4
LINUCB = 5
LINTS = 6
REGCB = 7

# integer settings
I_POLICY = 0
I_OPTIMIZER = 1
I_N_ACTIONS = 2
I_N_BAGS = 3  # heads per action (the bootstrap's bags; 1 otherwise, 0 without heads)
I_FIT_INTERCEPT = 4
I_N_DRAWS = 5  # Thompson draws that estimate LinTS's probabilities
I_RIDGE = 6  # 1: keep ridge statistics
I_INVSCALING = 7  # 1: rate eta0 / (t + 1) ** power_t; 0: constant
N_INTS = 8

# float settings
F_EPSILON = 0
F_DECAY = 1  # epsilon_t = epsilon * (t + 1) ** -decay
F_TEMPERATURE = 2
F_GAMMA_SCALE = 3  # SquareCB's gamma_t = gamma_scale * (t + 1) ** gamma_exponent
F_GAMMA_EXPONENT = 4
F_MIN_PROBABILITY = 5
F_WIDTH = 6  # LinUCB's alpha, LinTS's posterior scale, RegCB's confidence
F_ETA0 = 7
F_POWER_T = 8
F_L2 = 9
F_REWARD_LOW = 10
F_REWARD_HIGH = 11
N_FLOATS = 12  # followed by optimizers.N_HYPER values

# counters
C_ROUNDS = 0
C_DRAWS = 1
N_COUNTERS = 2

# stream keys: the three kinds of draw never share an address
_SAMPLE_STREAM = np.uint64(0x5A3C9E1D7B2F4061)
_POISSON_STREAM = np.uint64(0x2D4F6A8B0C1E3579)
_THOMPSON_STREAM = np.uint64(0x71E3C5A9B2D48F06)


def stream_seed(seed, kind):
    """The 64-bit key of one stream of a policy seeded with ``seed``."""
    keys = {"sample": _SAMPLE_STREAM, "poisson": _POISSON_STREAM,
            "thompson": _THOMPSON_STREAM}
    return np.uint64(seed) ^ keys[kind]


@kernel
def policy_pmf(X, available, seed, state, ints, floats, pmf):
    """The exploration distribution of every row of ``X`` into ``pmf``; nothing learns."""
    work = _work(state, ints, X.shape[1])
    for i in range(X.shape[0]):
        _row_pmf(X[i], available[i], seed, state, ints, floats, work, pmf[i])


@kernel
def learn(X, actions, rewards, seed, state, ints, floats):
    """Learn the rows of a log: action ``actions[i]`` got reward ``rewards[i]``.

    All or nothing: returns False, with the state as it was, when a head or a ridge
    statistic the rows touched stops being finite (a diverging value model). The
    state learns in place, so a stream's one-row call copies only what it touches
    (copying LinUCB's whole state cost a third of such a call).
    """
    touched = np.zeros(ints[I_N_ACTIONS], dtype=np.bool_)
    for i in range(actions.shape[0]):
        touched[actions[i]] = True
    saved = _save(state, touched)
    work = _work(state, ints, X.shape[1])
    for i in range(X.shape[0]):
        _learn_row(X[i], actions[i], rewards[i], seed, state, ints, floats, work)
    if _finite(state, touched):
        return True
    _restore(state, touched, saved)
    return False


@kernel
def sample_policy(X, available, seed, state, ints, floats, out):
    """Draw an action per row from its pmf, from the policy's own sampling stream
    (moving it on): ``out = (actions, probabilities)``. ``policy_pmf`` then
    ``sample_rows`` in one call."""
    chosen, probabilities = out
    counters = state[5]
    work = _work(state, ints, X.shape[1])
    pmf = np.empty(ints[I_N_ACTIONS])
    sample_key = seed ^ _SAMPLE_STREAM
    for i in range(X.shape[0]):
        _row_pmf(X[i], available[i], seed, state, ints, floats, work, pmf)
        a = sample_index(pmf, uniform(sample_key, counters[C_DRAWS]))
        counters[C_DRAWS] += 1
        chosen[i] = a
        probabilities[i] = pmf[a]


@kernel
def _save(state, touched):
    """Copies of what learning the ``touched`` actions can change: the heads, their
    optimizer state and steps, theta and the counters whole (small), the inverses
    of the touched actions only (the large part), in the order of the actions."""
    params, moments, steps, inverse, theta, counters = state
    n_saved = 0
    if inverse.shape[0] > 0:
        for a in range(touched.shape[0]):
            n_saved += touched[a]
    inverses = np.empty((n_saved, inverse.shape[1], inverse.shape[2]))
    k = 0
    for a in range(min(touched.shape[0], inverse.shape[0])):
        if touched[a]:
            inverses[k] = inverse[a]
            k += 1
    return (params.copy(), moments.copy(), steps.copy(), inverses, theta.copy(),
            counters.copy())


@kernel
def _restore(state, touched, saved):
    params, moments, steps, inverse, theta, counters = state
    params[:] = saved[0]
    moments[:] = saved[1]
    steps[:] = saved[2]
    k = 0
    for a in range(min(touched.shape[0], inverse.shape[0])):
        if touched[a]:
            inverse[a] = saved[3][k]
            k += 1
    theta[:] = saved[4]
    counters[:] = saved[5]


@kernel
def _finite(state, touched):
    """Whether the heads, theta and the touched inverses are all finite."""
    params, _, _, inverse, theta, _ = state
    total = 0.0  # (a sum is finite only when every term is; one branch at the end)
    for p in range(params.shape[0]):
        total += params[p] * 0.0
    for a in range(theta.shape[0]):
        for r in range(theta.shape[1]):
            total += theta[a, r] * 0.0
        if touched[a]:
            for r in range(inverse.shape[1]):
                for c in range(inverse.shape[2]):
                    total += inverse[a, r, c] * 0.0
    return total == 0.0


@kernel
def rounds(X, reward_matrix, available, seed, state, ints, floats, out):
    """One online pass: per row, the pmf, a sampled action, learning its reward.

    ``out = (actions, probabilities, rewards)`` receives what a log would record.
    ``seed`` is the policy's seed; the sampling stream is derived from it.
    """
    actions, probabilities, rewards = out
    counters = state[5]
    work = _work(state, ints, X.shape[1])
    pmf = np.empty(ints[I_N_ACTIONS])
    sample_key = seed ^ _SAMPLE_STREAM
    for i in range(X.shape[0]):
        _row_pmf(X[i], available[i], seed, state, ints, floats, work, pmf)
        u = uniform(sample_key, counters[C_DRAWS])
        counters[C_DRAWS] += 1
        a = sample_index(pmf, u)
        actions[i] = a
        probabilities[i] = pmf[a]
        rewards[i] = reward_matrix[i, a]
        _learn_row(X[i], a, rewards[i], seed, state, ints, floats, work)


@kernel
def explore_rows(scores, widths, available, rounds_done, ints, floats, pmf):
    """The exploration rule over given value estimates (a value model of any kind):
    ``pmf[i]`` from ``scores[i]`` (and RegCB's ``widths[i]``)."""
    for i in range(scores.shape[0]):
        _explore(scores[i], widths[i], available[i], rounds_done, ints, floats, pmf[i])
        _floor(pmf[i], available[i], floats[F_MIN_PROBABILITY])


@kernel
def all_finite(X):
    """Whether every entry of the matrix ``X`` is finite."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if not math.isfinite(X[i, j]):
                return False
    return True


@kernel
def plain_log(X, rewards, probabilities):
    """Whether a log needs no further checks: everything finite, probabilities (if
    any: length 0 means none) in (0, 1]. One compiled pass instead of a handful of
    NumPy calls of a few microseconds each on a one-row log."""
    if not all_finite(X):
        return False
    for i in range(X.shape[0]):
        if not math.isfinite(rewards[i]):
            return False
        if probabilities.shape[0] > 0 and not (0.0 < probabilities[i] <= 1.0):
            return False
    return True


@kernel
def integer_actions(y, n_actions):
    """Whether every logged action ``y[i]`` is one of ``0 .. n_actions - 1`` (the
    labels of a policy whose actions are those integers: then ``y`` is its own
    index, and a one-row call needs no search)."""
    for i in range(y.shape[0]):
        if not 0 <= y[i] < n_actions:
            return False
    return True


@kernel
def ridge_widths(X, inverse, widths):
    """``widths[i, a] = sqrt(x^T inverse[a] x)`` with ``x`` the row and a trailing 1."""
    u = np.empty(inverse.shape[1])
    for i in range(X.shape[0]):
        for a in range(inverse.shape[0]):
            widths[i, a] = sqrt(_quadratic(X[i], inverse[a], u))


@kernel
def ridge_update(X, actions, rewards, inverse, theta):
    """Sherman-Morrison updates of the ridge statistics by the rows of a log."""
    u = np.empty(inverse.shape[1])
    for i in range(X.shape[0]):
        _ridge_step(X[i], actions[i], rewards[i], inverse, theta, u)


@kernel
def sample_rows(pmf, uniforms, chosen):
    """``chosen[i]``: the action drawn from ``pmf[i]`` by the uniform ``uniforms[i]``."""
    for i in range(pmf.shape[0]):
        chosen[i] = sample_index(pmf[i], uniforms[i])


@kernel
def stream_uniforms(key, first, out):
    """Draws ``first, first + 1, ...`` of the stream ``key`` into ``out``."""
    for i in range(out.shape[0]):
        out[i] = uniform(key, first + i)


@kernel(inline="always")
def sample_index(pmf, u):
    """The action whose cumulative probability first exceeds ``u`` (never one of
    probability 0, whatever the rounding of the sum)."""
    total = 0.0
    last = 0
    for a in range(pmf.shape[0]):
        if pmf[a] > 0.0:
            total += pmf[a]
            last = a
            if u < total:
                return a
    return last


@kernel
def _work(state, ints, n_features):
    n_actions = ints[I_N_ACTIONS]
    return (np.zeros(state[0].shape[0]), np.zeros(N_STEP), np.zeros(n_actions),
            np.zeros(n_actions), np.zeros(n_features + 1))


@kernel
def _row_pmf(x, mask, seed, state, ints, floats, work, pmf):
    """One row's exploration distribution."""
    policy = ints[I_POLICY]
    n_actions = ints[I_N_ACTIONS]
    params, _, _, inverse, theta, counters = state
    _, _, scores, widths, u = work
    if policy == BOOTSTRAP:
        _bag_vote(x, mask, params, ints, scores, pmf)
    elif policy == LINTS:
        key = _context_key(x, seed ^ _THOMPSON_STREAM, counters[C_ROUNDS])
        for a in range(n_actions):
            scores[a] = _dot1(x, theta[a])
            widths[a] = floats[F_WIDTH] * sqrt(_quadratic(x, inverse[a], u))
        _thompson(scores, widths, mask, key, ints[I_N_DRAWS], pmf)
    else:
        for a in range(n_actions):
            if policy == LINUCB:
                scores[a] = _dot1(x, theta[a])
                widths[a] = sqrt(_quadratic(x, inverse[a], u))
            else:
                scores[a] = _head_value(x, params, a)
                if policy == REGCB:
                    widths[a] = sqrt(_quadratic(x, inverse[a], u))
        _explore(scores, widths, mask, counters[C_ROUNDS], ints, floats, pmf)
    _floor(pmf, mask, floats[F_MIN_PROBABILITY])


@kernel
def _explore(scores, widths, mask, rounds_done, ints, floats, pmf):
    """The rule of ``ints[I_POLICY]`` from value estimates; masked actions get 0."""
    policy = ints[I_POLICY]
    t = rounds_done + 1.0
    n_open = 0
    for a in range(scores.shape[0]):
        n_open += 1 if mask[a] else 0
    if policy == LINUCB:
        for a in range(scores.shape[0]):
            scores[a] += floats[F_WIDTH] * widths[a]
        _greedy(scores, mask, pmf)
    elif policy == REGCB:
        # optimism inside the declared reward range: the largest upper bound wins
        # (it is never eliminated: it is at least every action's lower bound)
        radius = floats[F_WIDTH] * math.sqrt(math.log(t + 1.0))
        for a in range(scores.shape[0]):
            scores[a] = min(floats[F_REWARD_HIGH], scores[a] + radius * widths[a])
        _greedy(scores, mask, pmf)
    elif policy == SOFTMAX:
        best = _best(scores, mask)
        total = 0.0
        for a in range(scores.shape[0]):
            pmf[a] = math.exp((scores[a] - scores[best]) / floats[F_TEMPERATURE]) \
                if mask[a] else 0.0
            total += pmf[a]
        for a in range(scores.shape[0]):
            pmf[a] /= total
    elif policy == SQUARECB:
        # inverse-gap weighting (Foster & Rakhlin 2020)
        gamma = floats[F_GAMMA_SCALE] * t ** floats[F_GAMMA_EXPONENT]
        best = _best(scores, mask)
        rest = 0.0
        for a in range(scores.shape[0]):
            pmf[a] = 0.0
            if mask[a] and a != best:
                pmf[a] = 1.0 / (n_open + gamma * (scores[best] - scores[a]))
                rest += pmf[a]
        pmf[best] = 1.0 - rest
    else:
        _greedy(scores, mask, pmf)
        if policy == EPSILON_GREEDY:
            epsilon = floats[F_EPSILON] * t ** -floats[F_DECAY]
            for a in range(scores.shape[0]):
                pmf[a] = (1.0 - epsilon) * pmf[a] + (epsilon / n_open if mask[a] else 0.0)


@kernel(inline="always")
def _best(scores, mask):
    """The first open action of the largest score."""
    best = -1
    for a in range(scores.shape[0]):
        if mask[a] and (best < 0 or scores[a] > scores[best]):
            best = a
    return best


@kernel
def _greedy(scores, mask, pmf):
    """All the mass on the open actions of the largest score, split among ties."""
    best = scores[_best(scores, mask)]
    ties = 0
    for a in range(scores.shape[0]):
        pmf[a] = 1.0 if mask[a] and scores[a] == best else 0.0
        ties += 1 if pmf[a] > 0.0 else 0
    for a in range(scores.shape[0]):
        pmf[a] /= ties


@kernel(inline="always")
def _floor(pmf, mask, floor):
    """Mix in the uniform floor: every open action keeps at least ``floor``. (Also
    caps rounding: ``(1 - e) + e`` may be one ulp above 1, which no probability is.)"""
    for a in range(pmf.shape[0]):
        pmf[a] = min(pmf[a], 1.0)
    if floor > 0.0:
        n_open = 0
        for a in range(pmf.shape[0]):
            n_open += 1 if mask[a] else 0
        keep = 1.0 - n_open * floor
        for a in range(pmf.shape[0]):
            pmf[a] = min(floor + keep * pmf[a], 1.0) if mask[a] else 0.0


@kernel
def _bag_vote(x, mask, params, ints, scores, pmf):
    """The bootstrap's pmf: the share of bags whose greedy choice each action is."""
    n_actions = ints[I_N_ACTIONS]
    n_bags = ints[I_N_BAGS]
    vote = np.zeros(n_actions)
    for a in range(n_actions):
        pmf[a] = 0.0
    for b in range(n_bags):
        for a in range(n_actions):
            scores[a] = _head_value(x, params, b * n_actions + a)
        _greedy(scores, mask, vote)
        for a in range(n_actions):
            pmf[a] += vote[a]
    for a in range(n_actions):
        pmf[a] /= n_bags


@kernel
def _thompson(means, scales, mask, key, n_draws, pmf):
    """How often each action wins under draws from its posterior: independent
    normals per action (each action's posterior is its own), ``n_draws`` of them."""
    for a in range(means.shape[0]):
        pmf[a] = 0.0
    for r in range(n_draws):
        best = -1
        best_value = 0.0
        for a in range(means.shape[0]):
            if mask[a]:
                value = means[a] + scales[a] * normal(key, r * means.shape[0] + a)
                if best < 0 or value > best_value:
                    best = a
                    best_value = value
        pmf[best] += 1.0  # (wins counted, then divided: shares of exactly 1 stay 1)
    for a in range(means.shape[0]):
        pmf[a] /= n_draws


@kernel
def _context_key(x, key, rounds_done):
    """A key from the stream, the rounds learned and the context's bits: the same
    context gives the same Thompson draws until the policy learns again."""
    h = mix(key + np.uint64(rounds_done))
    bits = x.view(np.uint64)
    for j in range(bits.shape[0]):
        h = mix(h ^ bits[j])
    return h


@kernel
def _learn_row(x, action, reward, seed, state, ints, floats, work):
    """Learn one round: the chosen action's heads and ridge statistics."""
    counters = state[5]
    n_actions = ints[I_N_ACTIONS]
    if ints[I_RIDGE] == 1:
        _ridge_step(x, action, reward, state[3], state[4], work[4])
    if ints[I_POLICY] == BOOTSTRAP:
        # online bagging (Oza & Russell): each bag sees the row Poisson(1) times
        key = mix((seed ^ _POISSON_STREAM) + np.uint64(counters[C_ROUNDS]))
        for b in range(ints[I_N_BAGS]):
            for repeat in range(_poisson_one(uniform(key, b))):
                _head_step(x, reward, b * n_actions + action, state, ints, floats, work)
    elif ints[I_N_BAGS] > 0:
        _head_step(x, reward, action, state, ints, floats, work)
    counters[C_ROUNDS] += 1


@kernel(inline="always")
def _poisson_one(u):
    """A Poisson(1) count by inversion of its distribution function."""
    k = 0
    p = math.exp(-1.0)
    total = p
    while u > total and k < 20:
        k += 1
        p /= k
        total += p
    return k


@kernel
def _head_step(x, reward, head, state, ints, floats, work):
    """One optimizer step of a head on the squared error of one row (a
    ``LinearRegressor`` step at batch size 1: L2 on the weights, not the intercept)."""
    params, moments, steps, _, _, _ = state
    grad, step = work[0], work[1]
    d = x.shape[0]
    start = head * (d + 1)
    residual = _head_value(x, params, head) - reward
    optimizer = ints[I_OPTIMIZER]
    lr = floats[F_ETA0]
    if ints[I_INVSCALING] == 1:
        lr = lr / (steps[head] + 1.0) ** floats[F_POWER_T]
    steps[head] += 1
    hyper = floats[N_FLOATS:]
    begin_step(optimizer, lr, steps[head], hyper, step)
    for j in range(d):
        grad[start + j] = residual * x[j]
    _weight_gradient(optimizer, params[start:start + d], grad[start:start + d], d, 1.0,
                     floats[F_L2], lr)
    apply(optimizer, params, grad, moments, hyper, step, start, start + d)
    if ints[I_FIT_INTERCEPT] == 1:
        grad[start + d] = residual
        apply(optimizer, params, grad, moments, hyper, step, start + d, start + d + 1)


@kernel(inline="always")
def _head_value(x, params, head):
    d = x.shape[0]
    start = head * (d + 1)
    value = params[start + d]
    for j in range(d):
        value += params[start + j] * x[j]
    return value


@kernel(inline="always")
def _dot1(x, v):
    """``[x, 1] . v``."""
    value = v[x.shape[0]]
    for j in range(x.shape[0]):
        value += v[j] * x[j]
    return value


@kernel
def _quadratic(x, inverse, u):
    """``[x, 1]^T inverse [x, 1]``; leaves ``u = inverse [x, 1]``."""
    d = x.shape[0]
    value = 0.0
    for r in range(d + 1):
        s = inverse[r, d]
        for j in range(d):
            s += inverse[r, j] * x[j]
        u[r] = s
        value += s * (x[r] if r < d else 1.0)
    return max(value, 0.0)


@kernel
def _ridge_step(x, action, reward, inverse, theta, u):
    """Add ``[x, 1]`` with ``reward`` to action ``action``'s ridge statistics:
    Sherman-Morrison on the inverse, the recursive least-squares step on theta."""
    A = inverse[action]
    th = theta[action]
    d = x.shape[0]
    denominator = 1.0 + _quadratic(x, A, u)
    gain = (reward - _dot1(x, th)) / denominator
    for r in range(d + 1):
        th[r] += gain * u[r]
    for r in range(d + 1):
        scale = u[r] / denominator
        for c in range(d + 1):
            A[r, c] -= scale * u[c]
