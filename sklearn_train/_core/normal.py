"""Addressed standard normal draws: ``normal(key, index)``, by the ziggurat method.

As ``data.uniform``, a draw is a pure function of a 64-bit stream key and its index,
so any draw can be recomputed without walking the stream. The method is Marsaglia &
Tsang's ziggurat (J. Stat. Softw. 5(8), 2000) with 256 layers: one 64-bit hash gives
the layer (8 bits), the sign (1 bit) and the abscissa (53 bits), and 99% of draws
are accepted at once by a comparison, without a logarithm or a cosine. Box-Muller
costs a logarithm, a square root and a cosine per draw: Thompson sampling's pmf,
which needs a thousand normals per round, spent most of its time there.

A rejected attempt retries with the next of a series of sub-streams of the key, so
the draw stays addressed (the number of attempts depends only on the key and index).
"""

import math

import numpy as np

from ._jit import kernel
from .data import mix

_LAYERS = 256
# the base layer's right edge and each layer's area for 256 layers (Marsaglia & Tsang)
_R = 3.6541528853610088
_AREA = 0.00492867323399


def _tables():
    """Layer edges ``x[0..256]`` (``x[0]`` the base strip's virtual width, ``x[1] = r``,
    ``x[256] = 0``) and the density at each, ``f = exp(-x^2 / 2)``."""
    def density(x):
        return math.exp(-0.5 * x * x)

    x = np.zeros(_LAYERS + 1)
    x[0] = _AREA / density(_R)
    x[1] = _R
    for i in range(1, _LAYERS - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(_AREA / x[i] + density(x[i])))
    return x, np.exp(-0.5 * x * x)


_EDGE, _DENSITY = _tables()
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_ATTEMPT = np.uint64(0x8CB92BA72F3D8DD7)
_INV_2_53 = 1.0 / 9007199254740992.0


@kernel(inline="always")
def _bits(key, index, attempt):
    """64 hashed bits of attempt ``attempt`` of draw ``index`` of stream ``key``."""
    sub = key if attempt == 0 else mix(key ^ (np.uint64(attempt) * _ATTEMPT))
    return mix(sub + np.uint64(index + 1) * _GAMMA)


@kernel(inline="always")
def _positive_uniform(bits):
    """A uniform in (0, 1] from 64 hashed bits (never 0: logarithms are taken)."""
    return (float(np.int64(bits >> np.uint64(11))) + 1.0) * _INV_2_53


@kernel(inline="always")
def normal(key, index):
    """The ``index``-th standard normal draw of the stream ``key``."""
    attempt = 0
    while True:
        bits = _bits(key, index, attempt)
        attempt += 1
        layer = np.int64(bits & np.uint64(0xFF))
        sign = -1.0 if (bits >> np.uint64(8)) & np.uint64(1) else 1.0
        x = float(np.int64(bits >> np.uint64(11))) * _INV_2_53 * _EDGE[layer]
        if x < _EDGE[layer + 1]:
            return sign * x  # inside the layer's rectangle under the curve: most draws
        u1 = _positive_uniform(_bits(key, index, attempt))
        u2 = _positive_uniform(_bits(key, index, attempt + 1))
        attempt += 2
        if layer == 0:
            # the tail beyond r (Marsaglia 1964): exponential proposals, accepted by
            # a second exponential
            tail = -math.log(u1) / _R
            if -2.0 * math.log(u2) > tail * tail:
                return sign * (_R + tail)
        elif (_DENSITY[layer] + u1 * (_DENSITY[layer + 1] - _DENSITY[layer])
              < math.exp(-0.5 * x * x)):
            return sign * x  # in the wedge between the rectangle and the curve
