"""Benchmark: contextual bandits, the bake-off protocol, ours against river,
mabwiser and Vowpal Wabbit.

Protocol (Bietti, Agarwal & Langford, "A Contextual Bandit Bake-off", JMLR 2021): a
classification data set becomes a bandit with one action per class, reward 1 for the
row's class and 0 otherwise (``bandit_from_classification``). Each policy makes one
online pass over the rows in a shuffled order: per row it draws an action from its
exploration distribution, sees that action's reward only, and learns it. Reported: the
progressive-validation loss (the mean of 1 - reward over the pass: the error rate
while learning), mean and standard deviation over ``--shuffles`` data orders (the same
orders for every policy), and the time per round (the median over the orders of the
pass's wall time divided by its rows).

Data, all shipped or generated here: digits (1,797 x 64, 10 classes, pixels / 16),
river's bundled ImageSegments (2,310 x 18, 7 classes), ``make_classification`` with
10 and with 50 classes (``--rows`` rows, 20 features of which 15 informative, one
cluster per class, ``random_state=0``). ImageSegments and the generated sets are
standardised (their features have scales far apart; digits' pixels are already in
[0, 1]).

Policies, each at its defaults (no tuning on these data):
- ours: the eight ``sklearn_train.bandit`` policies, all rounds of a pass in one
  compiled call (``progressive_validation``); and LinUCB's round through the public API
  (``sample_action`` then ``partial_fit`` of one row), timed on digits as a user's
  loop would run it;
- river: ``LinUCBDisjoint()`` (its only contextual policy), contexts as dicts, one
  ``pull`` and one ``update`` per round;
- mabwiser: ``MAB(LearningPolicy.LinUCB())``, one ``predict`` and one ``partial_fit``
  per round (it is first fitted on one row: mabwiser cannot predict unfitted);
- Vowpal Wabbit: ``--cb_explore_adf`` with ``--epsilon 0.05``, ``--squarecb`` and
  ``--regcbopt``, each with ``-q sa`` (the shared context crossed with the action's
  indicator: a linear model per action, as ours), one ``predict`` (its pmf, which the
  script samples) and one ``learn`` per round with cost ``1 - reward`` (VW minimises
  costs); the text lines are built per round, as its Python users do, and that time is
  counted in its rounds.

Every thread pool is one thread (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS`` set before NumPy is imported); all
libraries run in this one process, alternating within every data order. Each of our
policies is warmed up on a tiny pass first, so that loading the cached kernels is not
timed.

Run: ``python benchmarks/bench_bandit.py`` (about 15 minutes on 2 slow cores);
``--quick`` for a smoke run.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits, make_classification  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_train import bandit  # noqa: E402
from sklearn_train.bandit import (  # noqa: E402
    bandit_from_classification,
    progressive_validation,
)

OURS = {
    "ours GreedyBandit": bandit.GreedyBandit,
    "ours EpsilonGreedyBandit": bandit.EpsilonGreedyBandit,
    "ours SoftmaxBandit": bandit.SoftmaxBandit,
    "ours SquareCBBandit": bandit.SquareCBBandit,
    "ours BootstrapBandit": bandit.BootstrapBandit,
    "ours LinUCBBandit": bandit.LinUCBBandit,
    "ours LinTSBandit": bandit.LinTSBandit,
    "ours RegCBBandit": bandit.RegCBBandit,
}
VW_EXPLORATION = {"vw epsilon": "--epsilon 0.05", "vw squarecb": "--squarecb",
                  "vw regcbopt": "--regcbopt"}


def datasets(rows):
    X, y = load_digits(return_X_y=True)
    yield "digits", bandit_from_classification(X / 16.0, y)
    from river.datasets import ImageSegments
    pairs = list(ImageSegments())
    X = np.array([[row[k] for k in sorted(row)] for row, _ in pairs])
    y = np.array([label for _, label in pairs])
    yield "ImageSegments", bandit_from_classification(StandardScaler().fit_transform(X), y)
    for classes in (10, 50):
        X, y = make_classification(rows, 20, n_informative=15, n_redundant=0,
                                   n_classes=classes, n_clusters_per_class=1,
                                   random_state=0)
        yield (f"make_classification {classes} classes",
               bandit_from_classification(StandardScaler().fit_transform(X), y))


# -- one pass of each library: (actions chosen, rewards seen) and seconds -------------

def river_pass(data, seed):
    from river.bandit import LinUCBDisjoint
    policy = LinUCBDisjoint(seed=seed)
    arms = list(range(len(data.actions)))
    rewards = np.empty(data.X.shape[0])
    start = time.perf_counter()
    for i, row in enumerate(data.X):
        context = dict(enumerate(row.tolist()))
        arm = policy.pull(arms, context=context)
        rewards[i] = data.rewards[i, arm]
        policy.update(arm, context, rewards[i])
    return rewards, time.perf_counter() - start


def mabwiser_pass(data, seed):
    from mabwiser.mab import MAB, LearningPolicy
    arms = list(range(len(data.actions)))
    policy = MAB(arms, LearningPolicy.LinUCB(), seed=seed)
    rewards = np.empty(data.X.shape[0])
    start = time.perf_counter()
    # mabwiser cannot predict before a fit: the first round takes action 0
    policy.fit([0], [data.rewards[0, 0]], data.X[:1])
    rewards[0] = data.rewards[0, 0]
    for i in range(1, data.X.shape[0]):
        arm = policy.predict(data.X[i:i + 1])
        rewards[i] = data.rewards[i, arm]
        policy.partial_fit([arm], [rewards[i]], data.X[i:i + 1])
    return rewards, time.perf_counter() - start


def _vw_lines(row, n_actions, chosen=None, cost=None, probability=None):
    shared = "shared |s " + " ".join(f"f{j}:{v:.6g}" for j, v in enumerate(row) if v)
    lines = [shared]
    for a in range(n_actions):
        label = f"0:{cost}:{probability} " if a == chosen else ""
        lines.append(f"{label}|a a{a}")
    return lines


def vw_pass(data, seed, exploration):
    import vowpalwabbit
    model = vowpalwabbit.Workspace(
        f"--cb_explore_adf {exploration} -q sa --quiet --random_seed {seed}")
    rng = np.random.default_rng(seed)
    k = len(data.actions)
    rewards = np.empty(data.X.shape[0])
    start = time.perf_counter()
    for i, row in enumerate(data.X):
        pmf = np.asarray(model.predict(_vw_lines(row, k)), dtype=np.float64)
        pmf /= pmf.sum()
        arm = int(rng.choice(k, p=pmf))
        rewards[i] = data.rewards[i, arm]
        model.learn(_vw_lines(row, k, arm, 1.0 - rewards[i], pmf[arm]))
    model.finish()
    return rewards, time.perf_counter() - start


def ours_pass(data, seed, policy_class):
    run = progressive_validation(policy_class(random_state=seed), data)
    return run.rewards, run.seconds


def api_round_seconds(data, seed, rounds=250):
    """Our LinUCB driven through the public API one row at a time."""
    policy = bandit.LinUCBBandit(random_state=seed)
    policy.partial_fit(data.X[:1], data.actions[:1], rewards=data.rewards[0, :1],
                       actions=data.actions)
    start = time.perf_counter()
    for i in range(1, rounds + 1):
        x = data.X[i:i + 1]
        action, probability = policy.sample_action(x)
        reward = data.rewards[i, np.searchsorted(data.actions, action)]
        policy.partial_fit(x, action, rewards=reward, probabilities=probability)
    return (time.perf_counter() - start) / rounds


def passes():
    runs = {name: (lambda d, s, c=cls: ours_pass(d, s, c)) for name, cls in OURS.items()}
    runs["river LinUCBDisjoint"] = river_pass
    runs["mabwiser LinUCB"] = mabwiser_pass
    for name, flag in VW_EXPLORATION.items():
        runs[name] = lambda d, s, f=flag: vw_pass(d, s, f)
    return runs


def warm_up():
    X, y = load_digits(return_X_y=True)
    small = bandit_from_classification(X[:50] / 16.0, y[:50] % 3)
    for cls in OURS.values():
        progressive_validation(cls(random_state=0), small)
    api_round_seconds(small, 0, rounds=20)


def run(args):
    warm_up()
    runs = passes()
    if args.quick:
        runs = {k: v for k, v in runs.items() if "Greedy" in k or "LinUCB" in k
                or "squarecb" in k}
    tables = {}
    for name, data in datasets(args.rows):
        if args.quick:
            data = data.shuffled(0)
            data.X, data.rewards = data.X[:300], data.rewards[:300]
        losses = {k: [] for k in runs}
        seconds = {k: [] for k in runs}
        for seed in range(args.shuffles):
            order = data.shuffled(random_state=seed)
            for key, one_pass in runs.items():  # every library, alternating per order
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rewards, wall = one_pass(order, seed)
                losses[key].append(float(np.mean(1.0 - rewards)))
                seconds[key].append(wall / order.X.shape[0])
            print(f"{name}: order {seed} done", flush=True)
        api = (np.median([api_round_seconds(data.shuffled(s), s)
                          for s in range(args.shuffles)]) if name == "digits" else None)
        tables[name] = (data.X.shape, len(data.actions), losses, seconds, api)
        print_table(name, tables[name])
    print_summary(tables)


def print_table(name, table):
    shape, k, losses, seconds, api = table
    river = np.median(seconds["river LinUCBDisjoint"])
    print(f"\n### {name} ({shape[0]} rows, {shape[1]} features, {k} actions)\n")
    print("| policy | progressive loss (mean ± sd) | µs per round | river LinUCB's time / ours |")
    print("|---|---|---|---|")
    for key in sorted(losses, key=lambda key: np.mean(losses[key])):
        t = np.median(seconds[key])
        print(f"| {key} | {np.mean(losses[key]):.3f} ± {np.std(losses[key]):.3f} | "
              f"{t * 1e6:.1f} | {river / t:.1f}x |")
    if api is not None:
        print(f"| ours LinUCBBandit, public-API round (sample_action + partial_fit) | "
              f"| {api * 1e6:.1f} | {river / api:.1f}x |")


def print_summary(tables):
    print("\n### Summary\n")
    print("| data | best of ours | its loss | best peer | its loss | ours lowest? |")
    print("|---|---|---|---|---|---|")
    for name, (_, _, losses, _, _) in tables.items():
        mean = {k: np.mean(v) for k, v in losses.items()}
        ours = min((k for k in mean if k.startswith("ours")), key=mean.get)
        peer = min((k for k in mean if not k.startswith("ours")), key=mean.get)
        print(f"| {name} | {ours} | {mean[ours]:.3f} | {peer} | {mean[peer]:.3f} | "
              f"{'yes' if mean[ours] < mean[peer] else 'NO'} |")
    print(f"\nmachine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=3)
    parser.add_argument("--rows", type=int, default=5000,
                        help="rows of each make_classification set")
    parser.add_argument("--quick", action="store_true", help="300 rows, a few policies")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
