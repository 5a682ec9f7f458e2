"""Every compiled function of the core takes at most 8 arguments (the design notes'
kernel habit: pack related arrays into tuples)."""

import importlib
import inspect
import pkgutil

import numba
import pytest
from numba.core.registry import CPUDispatcher

import sklearn_train._core as core
from sklearn_train._core._jit import TwinKernel

MAX_ARGUMENTS = 8


def core_dispatchers():
    """``{"module.name": dispatcher}`` of every Numba dispatcher defined in a module of
    ``sklearn_train._core`` (not the ones a module imports from another)."""
    found = {}
    for info in pkgutil.iter_modules(core.__path__):
        module = importlib.import_module(f"{core.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, TwinKernel):  # a parallel kernel and its serial twin
                obj = obj.parallel
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = obj
    return found


def n_arguments(dispatcher):
    return len(inspect.signature(dispatcher.py_func).parameters)


def test_the_search_finds_the_kernels():
    found = core_dispatchers()
    for name in ("linear.linear_epoch", "mlp.mlp_epoch", "cluster.kmeans_epoch",
                 "mixture.gmm_epoch", "linear._forward", "mlp._output_delta",
                 "cluster._nearest", "losses.loss_grad", "data.record_step_loss",
                 "embedding.tsne_passes", "neighbors.join"):
        assert name in found


def test_the_count_sees_a_long_signature():
    @numba.njit
    def nine(a, b, c, d, e, f, g, h, i):
        return a

    assert isinstance(nine, CPUDispatcher) and n_arguments(nine) == 9


@pytest.mark.parametrize("name, dispatcher", sorted(core_dispatchers().items()))
def test_at_most_eight_arguments(name, dispatcher):
    assert n_arguments(dispatcher) <= MAX_ARGUMENTS, (
        f"{name} takes {n_arguments(dispatcher)} arguments; pack related arrays")
