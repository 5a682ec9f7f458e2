"""Embed the digits with t-SNE and UMAP, then place held-out digits with ``transform``.

Both models are fitted on 80% of scikit-learn's digits; the held-out 20% are placed
against the frozen training embedding. For each model the script prints the fit
time, the trustworthiness of the embedding (10 neighbours), the 10-NN accuracy in the
embedding and the accuracy of the held-out digits classified by their 10 nearest
training points in the embedding, and saves a figure of both embeddings with the
held-out digits drawn as crosses.

Run: ``python examples/embedding_digits.py [output.png]`` (a few seconds once the
kernels are compiled; the first run compiles them, which takes about a minute).
"""

import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.manifold import trustworthiness  # noqa: E402
from sklearn.model_selection import cross_val_score, train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from sklearn_train import TSNE, UMAP  # noqa: E402
from sklearn_train.plotting import EmbeddingDisplay  # noqa: E402


def main(path="embedding_digits.png"):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y)
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for model, ax in zip((TSNE(random_state=0), UMAP(random_state=0)), axes):
        started = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - started
        embedding = model.embedding_
        trust = trustworthiness(X_train, embedding, n_neighbors=10)
        accuracy = cross_val_score(KNeighborsClassifier(10), embedding, y_train, cv=5).mean()
        placed = model.transform(X_test)
        held_out = KNeighborsClassifier(10).fit(embedding, y_train).score(placed, y_test)
        name = type(model).__name__
        print(f"{name:4s}: fit {seconds:.2f} s, trustworthiness {trust:.4f}, "
              f"10-NN accuracy {accuracy:.4f}, held-out digits placed by transform: "
              f"10-NN accuracy {held_out:.4f} ({len(X_test)} digits)")
        display = EmbeddingDisplay.from_estimator(model, y=y_train, ax=ax, alpha=0.6)
        ax.scatter(placed[:, 0], placed[:, 1], c="black", marker="x", s=12,
                   linewidths=0.8, label="held out (transform)")
        display.ax_.set_title(f"{name}: digits (points), held-out digits (crosses)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"saved {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
