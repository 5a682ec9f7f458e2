"""Indices and status codes shared by the epoch kernels of several families.

The settings of an epoch kernel arrive packed in an integer array ``ints`` and a float
array ``floats``, and the counters it keeps between calls in a float array
``counters``. The slots every gradient-trained family (linear, MLP) has are defined
here once; each family module imports and re-exports them (``linear.I_LOSS`` is this
``I_LOSS``) and numbers its own slots after them, with its own ``N_INTS``,
``N_FLOATS`` and ``N_COUNTERS``.
"""

# integer settings
I_LOSS = 0  # a losses code
I_OPTIMIZER = 1  # an optimizers code
I_BATCH_SIZE = 2  # rows per optimizer step
N_SHARED_INTS = 3

# float settings
F_LOSS_PARAM = 0  # the loss's own parameter (losses module docstring)
F_L2 = 1  # L2 strength on the weights (AdamW: decoupled decay)
N_SHARED_FLOATS = 2

# counters kept between calls
C_STEPS = 0  # optimizer steps taken, all calls
C_MOMENT_STEPS = 1  # steps since the optimizer's moments started (Adam's correction)
N_SHARED_COUNTERS = 2

# kernel status
OK = 0
DIVERGED = 1  # a batch loss was not finite: the epoch stopped before that batch's step
