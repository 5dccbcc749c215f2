"""Plain-Python reference pieces shared by the metric tests.

Written independently of mmccr: per-pair loops over the definitions in
docs/metrics.md, used as a second formulation of the vectorised code.
"""
import math

import numpy as np

LN3 = math.log(3)
LN19 = math.log(19)
# One class, p = .95 .75 .5 .25 .05 (z = ln 19, ln 3, 0, -ln 3, -ln 19).
# Triples per mode:
#   'binary':   conf .95 .75 .5 .75 .95, correct 1 0 1 1 1
#               (decisions 1 1 1 0 0 vs labels 1 0 1 0 0)
#   'prob':     conf .95 .75 .5 .25 .05, "correct" = label 1 0 1 0 0
#   'positive': conf .95 .5 (the two y = 1 pairs), correct 1 1


def col(*values):
    """A one-class ``(N, 1)`` float64 array."""
    return np.array(values, dtype=np.float64)[:, None]


def sig(z):
    """Plain float64 sigmoid of one number."""
    return 1.0 / (1.0 + math.exp(-z))


HAND_LOGITS = col(LN19, LN3, 0.0, -LN3, -LN19)
HAND_TARGETS = col(1, 0, 1, 0, 0)


def loop_triples(logits, targets, mode):
    """(conf, correct, kept row indices) of one class, per mode."""
    conf, correct, rows = [], [], []
    for n, (z, y) in enumerate(zip(logits, targets, strict=True)):
        if y < 0 or (mode == 'positive' and y != 1):
            continue
        p = sig(z)
        if mode == 'binary':
            conf.append(max(p, 1 - p))
            correct.append(float((p >= 0.5) == (y == 1)))
        elif mode == 'prob':
            conf.append(p)
            correct.append(float(y))
        else:
            conf.append(p)
            correct.append(float(p >= 0.5))
        rows.append(n)
    return conf, correct, rows
