"""Contextual bandits on digits: learn online from rewards, log honestly, evaluate
and learn offline from the log.

A bandit sees a context, takes one action and is told the reward of that action only.
Digits becomes one (the bake-off's conversion): ten actions, reward 1 for the right
digit. The script

1. runs four online policies through the rows once (progressive validation: the
   error rate while they learn), on three data orders;
2. deploys one of them in a loop through the public API, one context at a time, as
   a service would, and keeps its log (context, action, reward, the probability it
   was taken with);
3. estimates, from that log alone, what two other policies would have earned
   (IPS, SNIPS, DR) and compares with their true value, known here because digits
   has every label;
4. learns new policies offline from the log and measures them on held-out digits.

Run: ``python examples/contextual_bandit.py`` (under a minute on 2 cores once the
kernels are compiled).
"""

import time

import numpy as np
from sklearn.datasets import load_digits

from sklearn_train.bandit import (
    DRPolicyLearner,
    EpsilonGreedyBandit,
    IPSPolicyLearner,
    LinTSBandit,
    LinUCBBandit,
    PolicyGradientLearner,
    SquareCBBandit,
    bandit_from_classification,
    expected_policy_loss,
    progressive_validation,
)
from sklearn_train.bandit.evaluation import dr, ips, snips

X, y = load_digits(return_X_y=True)
digits = bandit_from_classification(X / 16.0, y).shuffled(random_state=0)
train = digits.__class__(digits.X[:1200], digits.rewards[:1200], digits.actions)
held_out = digits.__class__(digits.X[1200:], digits.rewards[1200:], digits.actions)

print("1. Online, one pass (progressive-validation loss = error rate while learning)")
policies = {"epsilon-greedy": EpsilonGreedyBandit(), "SquareCB": SquareCBBandit(),
            "LinTS": LinTSBandit(), "LinUCB": LinUCBBandit()}
for name, policy in policies.items():
    runs = [progressive_validation(policy.set_params(random_state=seed),
                                   digits.shuffled(random_state=seed))
            for seed in range(3)]
    curve = np.mean([run.loss_curve for run in runs], axis=0)
    print(f"   {name:15s} loss {np.mean([run.loss for run in runs]):.3f}   "
          f"after 100 / 500 / all rows: {curve[99]:.2f} / {curve[499]:.2f} / "
          f"{curve[-1]:.2f}   {np.median([run.seconds for run in runs]) * 1e3:.0f} ms a pass")

print("\n2. Deployed: one context at a time through the public API, logged")
deployed = SquareCBBandit(min_probability=0.02, random_state=0)
deployed.partial_fit(train.X[:1], [0], rewards=[0.0], actions=train.actions)
log = {"X": [], "actions": [], "rewards": [], "probabilities": []}
start = time.perf_counter()
for i in range(1, 1200):
    x = train.X[i:i + 1]
    action, probability = deployed.sample_action(x)  # decide, and log the probability
    reward = train.rewards[i, action]  # what the user did
    deployed.partial_fit(x, action, rewards=reward, probabilities=probability)
    for key, value in zip(log, (x[0], action[0], reward[0], probability[0])):
        log[key].append(value)
seconds = (time.perf_counter() - start) / 1199
log = {key: np.array(values) for key, values in log.items()}
print(f"   {1199} rounds, {seconds * 1e6:.0f} us a round; reward earned "
      f"{log['rewards'].mean():.3f}; smallest logged probability "
      f"{log['probabilities'].min():.3f}")

print("\n3. Off-policy evaluation of candidates from the log alone")
candidates = {"greedy LinUCB": LinUCBBandit(alpha=0.05), "greedy epsilon": EpsilonGreedyBandit()}
for name, candidate in candidates.items():
    # a candidate trained on other data (the held-out rows), judged on the log
    candidate = progressive_validation(candidate.set_params(random_state=0), held_out).policy
    greedy = np.eye(10)[candidate.predict(log["X"])]
    index = log["actions"]
    true_value = 1.0 - expected_policy_loss(candidate, train.X[1:], train.rewards[1:],
                                            greedy=True)
    estimates = [ips(log["rewards"], log["probabilities"], greedy, actions=index),
                 snips(log["rewards"], log["probabilities"], greedy, actions=index),
                 dr(log["rewards"], log["probabilities"], greedy, index,
                    candidate.decision_function(log["X"]))]
    print(f"   {name:15s} true value {true_value:.3f}; " + "; ".join(
        f"{e.estimator} {e.value:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]"
        for e in estimates))

print("\n4. Offline learning from the log, measured on held-out digits")
for learner in (IPSPolicyLearner(), DRPolicyLearner(random_state=0),
                PolicyGradientLearner(random_state=0)):
    learner.fit(log["X"], log["actions"], rewards=log["rewards"],
                probabilities=log["probabilities"])
    error = expected_policy_loss(learner, held_out, greedy=True)
    print(f"   {type(learner).__name__:22s} held-out error of its greedy policy {error:.3f}")
print(f"   (the deployed policy itself: {expected_policy_loss(deployed, held_out, greedy=True):.3f})")
