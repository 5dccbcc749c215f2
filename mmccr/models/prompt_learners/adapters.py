"""Residual feature adapters (CLIP-Adapter style).

TaI++ and T2I-PAL adapt frozen CLIP features with a small bottleneck-free
MLP mixed back into its input: ``a(x) = α · x + (1 − α) · MLP(x)``. With
α = 1 the adapter is the identity.
"""
from typing import Optional

from torch import Tensor, nn


class ResidualAdapter(nn.Module):
    """``α · x + (1 − α) · fc2(dropout(relu(fc1(x))))``.

    TaI++'s ``Adaptor_Learner``: two bias-free linear layers of the feature
    width, ReLU, dropout 0.6, α = 0.6.

    Args:
        dim (int): feature width ``D``.
        alpha (float): residual ratio α in [0, 1]; 1 keeps the input.
        dropout (float): dropout between the layers (training only).
        hidden (int, optional): hidden width; defaults to ``dim``.
    """

    def __init__(self,
                 dim: int,
                 alpha: float = 0.6,
                 dropout: float = 0.6,
                 hidden: Optional[int] = None) -> None:
        super().__init__()
        if not 0. <= alpha <= 1.:
            raise ValueError(f'adapter alpha must be in [0, 1], got {alpha}')
        self.alpha = float(alpha)
        hidden = hidden or dim
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden, bias=False), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, dim, bias=False))

    def forward(self, x: Tensor, dropout: bool = True) -> Tensor:
        """Adapted features, same shape as ``x`` ``(..., D)``.

        Args:
            x (Tensor): features ``(..., D)``.
            dropout (bool): apply the dropout (in training mode). False
                gives the deterministic adapter whatever the mode, for
                features that must not depend on the random state (tuned
                class features read by post-hoc calibrators).
        """
        if self.alpha == 1.:
            return x
        x = x.float()
        fc1, relu, drop, fc2 = self.mlp
        hidden = relu(fc1(x))
        if dropout:
            hidden = drop(hidden)
        return self.alpha * x + (1 - self.alpha) * fc2(hidden)
