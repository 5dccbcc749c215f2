"""Proximity of image features to a reference set (for PIECE)."""
import numpy as np

from .utils import Array, as_float64

#: Bound on the elements of one block of distances or differences.
_BLOCK_ELEMENTS = 1 << 22


def _check_features(features: np.ndarray, name: str) -> None:
    if features.ndim != 2:
        raise ValueError(f'{name} must be (N, D), got {features.shape}')


def proximity(features: Array, reference_features: Array, k: int = 5, *,
              exclude_self: bool = False) -> np.ndarray:
    """Proximity ``exp(-mean of the k nearest Euclidean distances)``.

    DAC code convention (``proximity.py::get_knn_dists``): plain L2
    distances (not squared) from each feature to the reference features,
    features used as given (no normalisation), exponential of minus the
    mean over the ``k`` nearest. (ProCal's own code averages
    ``exp(-d^2)`` over faiss' squared distances instead.)

    Neighbours are selected on ``|a|^2 + |b|^2 - 2 a.b`` in float64, then
    the selected distances are recomputed exactly from the differences.

    Args:
        features: query features ``(N, D)``.
        reference_features: reference features ``(M, D)``.
        k (int): number of neighbours. Defaults to 5.
        exclude_self (bool): the reference set is the query set itself
            (``M == N``, row ``i`` is the same point): each point's own
            entry is removed by index, as when querying ``k + 1`` neighbours
            and dropping the self match; duplicates of a point at distance
            0 still count. Defaults to False.

    Returns:
        np.ndarray: proximity per feature ``(N,)`` in (0, 1].

    Raises:
        ValueError: on bad shapes, or when ``k`` exceeds the number of
            references (minus one when excluding self).
    """
    feats = as_float64(features)
    ref = as_float64(reference_features)
    _check_features(feats, 'features')
    _check_features(ref, 'reference_features')
    if feats.shape[1] != ref.shape[1]:
        raise ValueError('features and reference_features differ in '
                         f'dimension: {feats.shape} and {ref.shape}')
    if exclude_self and len(ref) != len(feats):
        raise ValueError('exclude_self needs reference_features to be the '
                         f'features themselves, got {len(feats)} features '
                         f'and {len(ref)} references')
    available = len(ref) - int(exclude_self)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
        raise ValueError(f'k must be an integer in [1, {available}] '
                         f'({len(ref)} references'
                         f'{", self excluded" if exclude_self else ""}), '
                         f'got {k}')
    k = int(k)
    ref_sq = (ref * ref).sum(1)
    mean_dist = np.empty(len(feats))
    step = max(1, _BLOCK_ELEMENTS // max(len(ref), k * ref.shape[1], 1))
    for start in range(0, len(feats), step):
        block = feats[start:start + step]
        rows = np.arange(len(block))
        sq = (block * block).sum(1)[:, None] + ref_sq[None] - \
            2.0 * block @ ref.T
        if exclude_self:
            sq[rows, start + rows] = np.inf
        nearest = np.argpartition(sq, k - 1, axis=1)[:, :k]  # (B, k)
        diff = block[:, None, :] - ref[nearest]  # (B, k, D)
        mean_dist[start:start + len(block)] = \
            np.sqrt((diff * diff).sum(-1)).mean(1)
    return np.exp(-mean_dist)
