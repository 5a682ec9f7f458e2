"""The Numba gradient core: losses, optimizers, schedules, penalties, row access and
epoch kernels. No scikit-learn imports and no estimator code live here."""
