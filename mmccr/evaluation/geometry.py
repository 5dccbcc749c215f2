"""Geometry of text and image embeddings (the CCR paper's Figs. 1, 3, 5).

Our reading of the paper's Eqs. 6-8 (its text is not in mmccr's reference
digest; docs/reproduce.md states the reading):

* **Embedding Divergence** of class c: how far prompt tuning moved its text
  embedding, ``ED(c) = 1 - cos(t̃_c, t_c)`` with ``t̃`` the tuned and ``t``
  the zero-shot (hand-crafted prompt) text embedding.
* **NP@K** (neighbourhood preservation at K) of class c: the fraction of
  its K nearest classes (cosine similarity of text embeddings, c itself
  excluded) in the zero-shot space that are still among its K nearest in
  the tuned space, ``|N_K^zs(c) ∩ N_K^tuned(c)| / K``.
* **Modality gap** (Liang et al., NeurIPS 2022): the distance between the
  centroids of the unit-norm image and text embeddings of paired samples,
  ``‖mean_i x_i - mean_i y_i‖₂``.

All functions take unit-norm or raw embeddings and normalise them.
"""
import torch
from torch import Tensor


def _unit(x: Tensor) -> Tensor:
    """Rows of ``x`` scaled to unit L2 norm, float64."""
    x = x.double()
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def embedding_divergence(zero_shot: Tensor, tuned: Tensor) -> Tensor:
    """``1 - cos`` between each class's tuned and zero-shot embedding.

    Args:
        zero_shot (Tensor): zero-shot text embeddings ``(C, D)``.
        tuned (Tensor): tuned text embeddings ``(C, D)``, same classes.

    Returns:
        Tensor: ``(C,)`` in [0, 2], float64.
    """
    if zero_shot.shape != tuned.shape:
        raise ValueError(f'embedding shapes differ: zero-shot '
                         f'{tuple(zero_shot.shape)}, tuned '
                         f'{tuple(tuned.shape)}')
    cos = (_unit(zero_shot) * _unit(tuned)).sum(-1)
    return (1 - cos).clamp(0, 2)  # rounding may leave cos above 1


def nearest_classes(embeddings: Tensor, k: int) -> Tensor:
    """Indices of each class's ``k`` most similar other classes.

    Args:
        embeddings (Tensor): ``(C, D)``.
        k (int): neighbours, ``1 <= k < C``.

    Returns:
        Tensor: ``(C, k)`` long, most similar first (ties by index).
    """
    n = embeddings.shape[0]
    if not 1 <= k < n:
        raise ValueError(f'k must be in [1, {n - 1}] for {n} classes, got '
                         f'{k}')
    unit = _unit(embeddings)
    sim = unit @ unit.T  # (C, C)
    sim.fill_diagonal_(-float('inf'))  # a class is not its own neighbour
    return torch.topk(sim, k, dim=1, sorted=True).indices


def neighbourhood_preservation(zero_shot: Tensor, tuned: Tensor,
                               k: int) -> Tensor:
    """NP@K: the share of each class's K zero-shot nearest classes that
    stay among its K tuned nearest classes.

    Args:
        zero_shot (Tensor): zero-shot text embeddings ``(C, D)``.
        tuned (Tensor): tuned text embeddings ``(C, D)``.
        k (int): neighbours.

    Returns:
        Tensor: ``(C,)`` in {0, 1/K, ..., 1}, float64.
    """
    before = nearest_classes(zero_shot, k)  # (C, K)
    after = nearest_classes(tuned, k)  # (C, K)
    kept = (before.unsqueeze(2) == after.unsqueeze(1)).any(2)  # (C, K)
    return kept.double().mean(1)


def modality_gap(images: Tensor, texts: Tensor) -> float:
    """Distance between the centroids of unit-norm image and text
    embeddings of paired samples.

    Args:
        images (Tensor): image embeddings ``(N, D)``.
        texts (Tensor): the paired text embeddings ``(N, D)``.
    """
    return float((_unit(images).mean(0) - _unit(texts).mean(0)).norm())


def pca_2d(points: Tensor) -> Tensor:
    """The first two principal components of ``points`` ``(N, D)``:
    coordinates ``(N, 2)`` (SVD of the centred points; signs fixed so
    that the largest loading of each component is positive)."""
    x = points.double() - points.double().mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)  # v: (D', D)
    axes = v[:2]  # (2, D)
    sign = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    return x @ (axes * sign).T
