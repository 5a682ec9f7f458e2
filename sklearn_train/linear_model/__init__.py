"""Linear models trained by mini-batch gradient descent."""

from ._classifier import LinearClassifier
from ._regressor import LinearRegressor

__all__ = ["LinearClassifier", "LinearRegressor"]
