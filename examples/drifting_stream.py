"""A stream whose concept changes: notice it, react, and score it prequentially.

The first half of the stream labels a row by one random hyperplane, the second half by
another. A plain online LinearClassifier keeps its decaying learning rate and adapts
slowly; DriftAdaptive watches its errors with ADWIN and reacts. A feature that shifts
(without touching the concept) is caught by the FeatureDriftMonitor.

Run: ``python examples/drifting_stream.py`` (a few seconds).
"""

import numpy as np

from sklearn_train import LinearClassifier
from sklearn_train.drift import DriftAdaptive, FeatureDriftMonitor
from sklearn_train.evaluation import progressive_val_score


def drifting_stream(n_rows=20_000, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    before, after = rng.normal(size=(2, n_features))
    half = n_rows // 2
    y = np.r_[X[:half] @ before > 0, X[half:] @ after > 0].astype(int)
    X[3 * n_rows // 4:, -1] += 1.5  # a feature shifts late in the stream
    return X, y, half


def main():
    X, y, change = drifting_stream()
    after = slice(change, None)
    models = {
        "plain": LinearClassifier(random_state=0),
        **{reaction: DriftAdaptive(LinearClassifier(random_state=0), reaction=reaction,
                                   input_monitor=FeatureDriftMonitor())
           for reaction in ("reset", "boost_lr", "refit_window")},
    }
    print(f"concept changes at row {change}; feature 4 shifts at row {3 * len(y) // 4}")
    print(f"{'model':14s} {'accuracy':>9s} {'after change':>13s} {'s':>6s}  drifts")
    for name, model in models.items():
        result = progressive_val_score(model, X, y, "accuracy")
        later = np.mean(result.predictions[change - 1:] == y[after])
        history = result.estimator.history_ if name != "plain" else []
        drifts = ", ".join(f"{entry['row']} ({entry['source']}"
                           + (f" {entry['features']}" if entry["source"] == "input" else "")
                           + ")" for entry in history)
        print(f"{name:14s} {result.score:9.4f} {later:13.4f} {result.seconds:6.2f}  "
              f"{drifts or '-'}")


if __name__ == "__main__":
    main()
