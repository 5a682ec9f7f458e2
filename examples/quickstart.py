"""Quickstart: tune a softmax LinearClassifier on the digits data and show its training.

A Pipeline(StandardScaler, LinearClassifier) is tuned by GridSearchCV over the
optimizer and the regularisation strength alpha (5-fold, both cores), then the best
model is scored on a held-out test set and its per-epoch training history printed.
Plain and momentum SGD take larger steps than the adaptive optimizers, so each
family gets its own starting learning rate eta0.

Run: python examples/quickstart.py
"""

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_train import LinearClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"digits: {X_train.shape[0]} training and {X_test.shape[0]} test images, "
          f"{X.shape[1]} pixels, 10 classes\n")

    pipeline = Pipeline([
        ("scale", StandardScaler()),
        ("clf", LinearClassifier(early_stopping=True, random_state=0)),
    ])
    alphas = [1e-4, 1e-3, 1e-2]
    grid = [
        {"clf__optimizer": ["sgd", "momentum"], "clf__eta0": [0.5], "clf__alpha": alphas},
        {"clf__optimizer": ["adagrad", "rmsprop", "adam"], "clf__eta0": [0.05],
         "clf__alpha": alphas},
    ]
    search = GridSearchCV(pipeline, grid, cv=5, n_jobs=2)
    started = time.perf_counter()
    search.fit(X_train, y_train)
    print(f"grid search: {len(search.cv_results_['params'])} candidates x 5 folds "
          f"in {time.perf_counter() - started:.1f} s")
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}\n")

    model = search.best_estimator_[-1]
    history = model.history_
    best = min(history, key=lambda row: row["val_loss"])["epoch"]
    shown = [row for row in history
             if row["epoch"] <= 5 or row["epoch"] % 25 == 0
             or row["epoch"] in (best, len(history))]
    print(f"training history of the refitted model: {model.n_iter_} epochs, validation on "
          f"10% held out, parameters of the best epoch ({best}, marked *) restored; "
          f"{len(shown)} of {len(history)} rows shown")
    print(f"{'epoch':>6} {'train_loss':>10} {'val_loss':>9} {'val_acc':>8} "
          f"{'lr':>8} {'ms':>6}")
    for row in shown:
        mark = "*" if row["epoch"] == best else " "
        print(f"{row['epoch']:>5}{mark} {row['train_loss']:>10.4f} {row['val_loss']:>9.4f} "
              f"{row['val_score']:>8.4f} {row['learning_rate']:>8.2g} "
              f"{row['seconds'] * 1e3:>6.1f}")

if __name__ == "__main__":
    main()
