"""Neural networks trained by the shared core: MLPClassifier, MLPRegressor, Autoencoder."""

from ._autoencoder import Autoencoder
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor

__all__ = ["Autoencoder", "MLPClassifier", "MLPRegressor"]
