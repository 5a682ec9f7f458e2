"""Train with callbacks: stop early, checkpoint the best epoch, resume, plot the history.

A softmax LinearClassifier learns the digits data (shipped with scikit-learn, nothing
is downloaded) on standardised pixels, with an explicit validation set and two
callbacks: ``EarlyStopping`` ends training once the validation loss has not improved
for 5 epochs and restores the best epoch's parameters; ``Checkpoint`` writes the model
to a file with joblib each time the validation loss improves. Each epoch also records
the balanced accuracy on the validation set (``scoring=``) in ``history_``.

The checkpoint is then loaded back, checked to predict as the fitted model does, and
training resumes from it with ``partial_fit`` on chunks of data that arrive later
(one epoch per call, optimizer state and epoch count carried on; the validation set
is passed again, as the callbacks watch ``val_loss`` in every row). Last,
``TrainingHistoryDisplay`` plots the fit's history and the last epochs of the resumed
model's (partial_fit's epochs shaded) side by side, saved as a PNG.

Files go to a new temporary directory unless ``--out`` says where the plot goes.

Run: python examples/train_with_callbacks.py [--out history.png]
"""

import argparse
import os
import tempfile

import joblib
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_train import LinearClassifier  # noqa: E402
from sklearn_train.callbacks import Checkpoint, EarlyStopping  # noqa: E402
from sklearn_train.plotting import TrainingHistoryDisplay  # noqa: E402


def split(X, y):
    """Training, validation, test sets, and three chunks that arrive after the fit."""
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                            random_state=0)
    X, X_val, y, y_val = train_test_split(X, y, test_size=250, stratify=y, random_state=0)
    X_train, X_later, y_train, y_later = train_test_split(X, y, test_size=300, stratify=y,
                                                          random_state=0)
    chunks = list(zip(np.array_split(X_later, 3), np.array_split(y_later, 3)))
    return (X_train, y_train), (X_val, y_val), (X_test, y_test), chunks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="PNG file for the plot (default: in a new "
                                      "temporary directory, with the checkpoint)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="sklearn_train_example_")
    checkpoint = os.path.join(workdir, "best.joblib")
    out = args.out or os.path.join(workdir, "training_history.png")

    X, y = load_digits(return_X_y=True)
    (X_train, y_train), (X_val, y_val), (X_test, y_test), chunks = split(X, y)
    # X_val is used as given, so every set is scaled here by the training set's scaler
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(part) for part in (X_train, X_val, X_test))
    chunks = [(scaler.transform(X_chunk), y_chunk) for X_chunk, y_chunk in chunks]
    print(f"digits: {len(y_train)} training, {len(y_val)} validation, {len(y_test)} test "
          f"images, then {len(chunks)} chunks of ~{len(chunks[0][1])} for partial_fit\n")

    # tol=None: the callbacks alone decide when to stop
    clf = LinearClassifier(
        scoring="balanced_accuracy", tol=None, max_iter=300, random_state=0,
        callbacks=[EarlyStopping(monitor="val_loss", patience=5),
                   Checkpoint(checkpoint, monitor="val_loss")],
    )
    clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    stopper, saver = clf.callbacks_
    best = next(row for row in clf.history_ if row["best"])
    print(f"fit: EarlyStopping stopped after epoch {stopper.stopped_epoch_} "
          f"(max_iter={clf.max_iter})")
    print(f"     best epoch {clf.best_epoch_}: val_loss {best['val_loss']:.4f}, "
          f"val balanced accuracy {best['val_score']:.4f}; its parameters are restored")
    print(f"     Checkpoint wrote {len(saver.saved_)} times, last at epoch "
          f"{saver.best_epoch_}: {checkpoint}")

    model = joblib.load(checkpoint)
    same = np.array_equal(model.predict(X_test), clf.predict(X_test))
    print(f"\nreloaded checkpoint: epoch {model.history_[-1]['epoch']}, same test "
          f"predictions as the fitted model: {same}")
    before = model.score(X_test, y_test)

    print("resuming from the checkpoint with partial_fit:")
    for number, (X_chunk, y_chunk) in enumerate(chunks, start=1):
        model.partial_fit(X_chunk, y_chunk, X_val=X_val, y_val=y_val)
        row = model.history_[-1]
        print(f"     chunk {number} ({len(y_chunk)} rows): epoch {row['epoch']}, "
              f"val_loss {row['val_loss']:.4f}, val balanced accuracy "
              f"{row['val_score']:.4f}")
    after = model.score(X_test, y_test)
    print(f"test accuracy: {before:.4f} at the checkpoint, {after:.4f} after resuming")
    print(f"best epoch now {model.best_epoch_} (the checkpoint file keeps the best "
          f"validation loss: epoch {model.callbacks_[1].best_epoch_})")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    TrainingHistoryDisplay.from_estimator(clf, ax=left, estimator_name="fit")
    # the resumed model's last epochs: the checkpoint's, then partial_fit's (shaded)
    recent = model.history_[-len(chunks) - 12:]
    TrainingHistoryDisplay.from_history(
        recent, ax=right, score_name="balanced_accuracy",
        estimator_name="resumed from the checkpoint with partial_fit")
    right.axvspan(recent[-len(chunks) - 1]["epoch"], recent[-1]["epoch"], color="0.92")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"\nhistory plot saved to {out}")


if __name__ == "__main__":
    main()
