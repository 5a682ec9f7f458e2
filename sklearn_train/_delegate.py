"""What a meta-estimator that predicts with its fitted ``estimator_`` shares: the
prediction methods (present when the inner estimator has them) and its tags."""

from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted


def _fitted_has(name):
    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        return hasattr(estimator, name)

    return check


class DelegatingMixin:
    """``predict``, ``predict_proba``, ``decision_function``, ``transform`` and
    ``score`` of ``estimator_``, and the tags of ``estimator``."""

    @available_if(_fitted_has("predict"))
    def predict(self, X):
        """The fitted estimator's ``predict``."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_fitted_has("predict_proba"))
    def predict_proba(self, X):
        """The fitted estimator's ``predict_proba``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_fitted_has("decision_function"))
    def decision_function(self, X):
        """The fitted estimator's ``decision_function``."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_fitted_has("transform"))
    def transform(self, X):
        """The fitted estimator's ``transform``."""
        check_is_fitted(self)
        return self.estimator_.transform(X)

    @available_if(_fitted_has("score"))
    def score(self, X, y=None):
        """The fitted estimator's ``score``."""
        check_is_fitted(self)
        return self.estimator_.score(X, y) if y is not None else self.estimator_.score(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.target_tags = inner.target_tags
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        return tags
