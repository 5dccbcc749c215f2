"""The CCR paper's analysis figures from plain data (no models here).

Each function draws one figure on the Agg canvas (pyplot's backend is never
touched) and returns it; :func:`save_png` writes it atomically. The tools
under ``tools/analysis_tools/`` gather the data and write the CSV behind
each figure.
"""
import csv
import io
from typing import Dict, List, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmccr.utils.io import atomic_write_bytes

#: Colours of class groups.
GROUP_COLOURS = {'base': 'tab:blue', 'new': 'tab:orange',
                 'head': 'tab:green', 'medium': 'tab:olive',
                 'tail': 'tab:red'}


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure on its own Agg canvas."""
    fig = Figure(figsize=(width, height), layout='constrained')
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str, dpi: int = 120) -> None:
    """Write ``fig`` as PNG to ``path`` atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())


def plot_modality_gap(panels: Sequence[Mapping]) -> Figure:
    """PCA of paired image and text embeddings, one panel per model.

    Args:
        panels (Sequence[Mapping]): each with ``name``, ``images`` ``(N,
            2)`` and ``texts`` ``(N, 2)`` (coordinates on the first two
            principal components of the panel's pairs) and ``gap`` (the
            modality gap).
    """
    fig = new_figure(4 * len(panels), 4.3)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels, strict=True):
        ax.scatter(*np.asarray(panel['images']).T, s=6, alpha=0.5,
                   color='tab:blue', label='image')
        ax.scatter(*np.asarray(panel['texts']).T, s=18, marker='x',
                   color='tab:red', label='text (its class)')
        ax.set_title(f'{panel["name"]}\ngap ‖μ_img − μ_txt‖ = '
                     f'{panel["gap"]:.3f}', fontsize='medium')
        ax.set(xlabel='PC 1', ylabel='PC 2')
        ax.legend(loc='best', fontsize='small')
    return fig


def plot_divergence(runs: Sequence[Mapping], k: int) -> Figure:
    """Embedding Divergence and NP@K per class against the class's signed
    calibration gap, base and new classes coloured.

    Args:
        runs (Sequence[Mapping]): each with ``name`` and ``rows``: dicts
            with ``group`` ('base'/'new'), ``ED``, ``NP@K`` and ``gap``
            (×10⁻²; NaN when unknown).
        k (int): the K of NP@K (axis label).
    """
    fig = new_figure(9, 3.6 * len(runs))
    axes = np.atleast_2d(fig.subplots(len(runs), 2, squeeze=False))
    for row, run in zip(axes, runs, strict=True):
        for ax, key, label in ((row[0], 'ED', 'Embedding Divergence 1 − cos'),
                               (row[1], 'NP@K', f'NP@{k}')):
            for group in ('base', 'new'):
                own = [r for r in run['rows'] if r['group'] == group]
                ax.scatter([r[key] for r in own], [r['gap'] for r in own],
                           color=GROUP_COLOURS[group], label=group, s=20)
            ax.axhline(0, color='grey', linewidth=0.8)
            ax.set(xlabel=label,
                   ylabel='signed gap conf − acc (×10⁻²)')
            ax.set_title(run['name'], fontsize='medium')
            ax.legend(fontsize='small')
    return fig


def plot_calibration_gap(runs: Sequence[Mapping],
                         groups: Sequence[str]) -> Figure:
    """Per-class signed calibration gap (bars, coloured base/new) and the
    ECE of each class group per method (grouped bars).

    Args:
        runs (Sequence[Mapping]): each with ``name``, ``classes``,
            ``class_groups`` (class → 'base'/'new'), ``gap`` (per class,
            ×10⁻²) and ``ece`` (group → ×10⁻² or NaN).
        groups (Sequence[str]): the groups of the ECE bars, in order.
    """
    fig = new_figure(max(8, 0.3 * len(runs[0]['classes']) + 3),
                     3 * len(runs) + 3.5)
    axes = fig.subplots(len(runs) + 1, 1, squeeze=False)[:, 0]
    for ax, run in zip(axes, runs, strict=False):
        colours = [GROUP_COLOURS.get(run['class_groups'][c], 'grey')
                   for c in run['classes']]
        ax.bar(range(len(run['classes'])), run['gap'], color=colours)
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xticks(range(len(run['classes'])), run['classes'],
                      rotation=90, fontsize='x-small')
        ax.set(ylabel='conf − acc (×10⁻²)')
        ax.set_title(f'{run["name"]}: per-class signed calibration gap '
                     '(blue base, orange new)', fontsize='medium')
    ax = axes[-1]
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        ax.bar(np.arange(len(groups)) + i * width,
               [run['ece'].get(g, np.nan) for g in groups], width,
               label=run['name'])
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, list(groups))
    ax.set(ylabel='ECE (×10⁻²)')
    ax.set_title('ECE by class group', fontsize='medium')
    ax.legend(fontsize='small')
    return fig


def rows_to_csv(rows: List[Dict]) -> str:
    """Dicts with the same keys as CSV text (header first)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]),
                            lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
