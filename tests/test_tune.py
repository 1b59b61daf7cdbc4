"""Tune analysis against signals of known frequency."""

import numpy as np
import pytest

from beamkit import tune


def _signal(q, n=1024, beta=30.0, alpha=-1.2, offset=0.0):
    k = np.arange(n)
    phi = 2 * np.pi * q * k + 0.4
    x = np.sqrt(beta) * np.cos(phi) * 1e-3 + offset
    px = -np.sqrt(1 / beta) * (np.sin(phi) + alpha * np.cos(phi)) * 1e-3
    return x, px, beta, alpha


@pytest.mark.parametrize("q", [0.03, 0.2519, 0.25, 0.31, 0.49, 0.7, 0.97])
def test_complex_signal_exact(q):
    # A pure rotation: NAFF on x_n - i p_n recovers q to rounding (~1e-11 for 1024 turns).
    x, px, beta, alpha = _signal(q, offset=2e-3)
    assert abs(tune.naff(tune.normalised_signal(x, px, beta, alpha)) - q) < 1e-9


@pytest.mark.parametrize("q", [0.1, 0.31])
def test_real_signal_far_from_quarter(q):
    x, *_ = _signal(q, offset=1e-3)
    assert abs(tune.naff(x) - q) < 1e-8


def test_real_signal_cannot_tell_q_from_one_minus_q():
    x, *_ = _signal(0.7)
    assert abs(tune.naff(x) - 0.3) < 1e-8


def test_bad_signals():
    with pytest.raises(ValueError, match="at least 13"):
        tune.naff(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        tune.naff(np.array([np.nan] * 100))
    with pytest.raises(ValueError, match="constant"):
        tune.naff(np.ones(100))
