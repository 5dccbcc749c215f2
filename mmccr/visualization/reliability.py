"""Reliability diagrams (Guo et al., 2017 style) from binned statistics.

The statistics are those the evaluation writes under ``reliability`` in its
results JSON (see ``docs/metrics.md``). Figures are built as plain
:class:`matplotlib.figure.Figure` objects drawn with the Agg canvas, so
importing or calling this module never changes the user's pyplot backend,
and the figures are not registered with pyplot (nothing to close: they are
freed when no longer referenced).
"""
import io
import math
import os.path as osp
import textwrap
from typing import List, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmccr.utils.io import atomic_write_bytes

MODES = ('binary', 'prob', 'positive')
BINNINGS = {'width': 'equal-width', 'mass': 'equal-mass'}


def _per_100(value: Optional[float]) -> str:
    """Format a fraction ×100 with two decimals; 'n/a' for None or NaN."""
    if value is None or math.isnan(value):
        return 'n/a'
    return f'{100 * value:.2f}'


#: Characters of a title line that fit the 5-inch-wide diagram.
TITLE_WIDTH = 46


def fit_title(text: str, width: int = TITLE_WIDTH) -> str:
    """``text`` on lines of at most ``width`` characters (breaking at
    ``' | '`` first), so that a long title is not cut off at the figure's
    edges; short titles are unchanged."""
    if len(text) <= width:
        return text
    return '\n'.join(textwrap.fill(part, width, break_long_words=True)
                     for part in text.split(' | '))


def plot_reliability_diagram(stats: dict,
                             *,
                             mode: str,
                             n_bins: int,
                             binning: str,
                             title: str,
                             out_file: Optional[str] = None) -> Figure:
    """Draw a reliability diagram with a confidence histogram below it.

    Top panel: one bar per non-empty bin with its accuracy ('prob' mode:
    fraction positive), a hatched red "Gap" bar from the accuracy to the
    bin's **mean confidence** (not the bin midpoint, so the gaps are the
    ones ECE sums), the dashed identity line, and a text box with the
    pooled ECE and the mean per-class ECE, both ×100 (the paper's ×10⁻²
    convention), e.g. ``ECE (pooled) 4.30``. Bottom panel: fraction of
    pairs per bin (log y-scale in 'prob' mode, where negatives pile up near
    0) with vertical lines at the average accuracy and confidence, i.e.
    the count-weighted means of the per-bin values.

    A bin is empty when its ``acc`` or ``conf`` is None: it gets no
    accuracy or gap bar, but its ``count`` still enters the histogram
    (confidences of exactly 1.0 count in the last bin without entering
    its averages).

    Args:
        stats (dict): One group's statistics: ``edges`` (n_bins + 1,),
            ``count`` (n_bins,), ``acc`` (n_bins,) and ``conf`` (n_bins,)
            with None for empty bins, and the fractions ``ece_pooled`` and
            ``ece_mean`` (None or NaN when undefined).
        mode (str): 'binary', 'prob' or 'positive'.
        n_bins (int): Number of bins, stated in the title.
        binning (str): 'width' (equal-width) or 'mass' (equal-mass).
        title (str): Start of the title, e.g. ``'CoOp+CCR — new classes'``.
        out_file (str, optional): Save the figure as PNG here (parent
            folders are created; the write is atomic). Defaults to None.

    Returns:
        Figure: The figure (returned also when saved, so that callers can
        inspect it); ``fig.axes[0]`` is the diagram, whose bar containers
        are labelled 'Outputs' and 'Gap', and ``fig.axes[1]`` the
        histogram.

    Raises:
        ValueError: If ``mode`` or ``binning`` is unknown or the lengths of
            the statistics do not match ``n_bins``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if binning not in BINNINGS:
        raise ValueError(
            f'binning must be one of {tuple(BINNINGS)}, got {binning!r}')
    edges = np.asarray(stats['edges'], dtype=np.float64)
    count = np.asarray(stats['count'], dtype=np.float64)
    acc, conf = stats['acc'], stats['conf']
    if not len(edges) - 1 == len(count) == len(acc) == len(conf) == n_bins:
        raise ValueError(
            f'expected {n_bins + 1} edges and {n_bins} counts, accuracies '
            f'and confidences, got {len(edges)}, {len(count)}, {len(acc)} '
            f'and {len(conf)}')
    left, width = edges[:-1], np.diff(edges)
    filled = [i for i in range(n_bins)
              if acc[i] is not None and conf[i] is not None]
    acc_f = np.array([acc[i] for i in filled], dtype=np.float64)
    conf_f = np.array([conf[i] for i in filled], dtype=np.float64)
    y_label = 'Fraction positive' if mode == 'prob' else 'Accuracy'

    fig = Figure(figsize=(5, 7), layout='constrained')
    FigureCanvasAgg(fig)
    ax, hist = fig.subplots(
        2, 1, sharex=True, gridspec_kw=dict(height_ratios=(3, 1)))

    ax.bar(left[filled], acc_f, width[filled], align='edge',
           color='tab:blue', edgecolor='black', label='Outputs')
    ax.bar(left[filled], conf_f - acc_f, width[filled], bottom=acc_f,
           align='edge', color=(1, 0, 0, 0.3), edgecolor='red', hatch='//',
           label='Gap')
    ax.plot([0, 1], [0, 1], '--', color='gray', label='Perfect calibration')
    ax.text(0.03, 0.97,
            f"ECE (pooled) {_per_100(stats['ece_pooled'])}\n"
            f"mean class ECE {_per_100(stats['ece_mean'])}\n(×10⁻²)",
            transform=ax.transAxes, ha='left', va='top',
            bbox=dict(boxstyle='round', facecolor='wheat', alpha=0.8))
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel=y_label,
           title=fit_title(
               f'{title} | {n_bins} {BINNINGS[binning]} bins, mode={mode}'))
    ax.title.set_fontsize('medium')
    ax.legend(loc='upper left', bbox_to_anchor=(0, 0.8))

    total = count.sum()
    nonzero = np.flatnonzero(count)
    hist.bar(left[nonzero], count[nonzero] / max(total, 1), width[nonzero],
             align='edge', color='tab:blue', edgecolor='black')
    weights = count[filled]
    if weights.sum() > 0:
        hist.axvline(np.average(acc_f, weights=weights), color='black',
                     linestyle='--', label=f'Avg. {y_label.lower()}')
        hist.axvline(np.average(conf_f, weights=weights), color='gray',
                     linestyle=':', label='Avg. confidence')
        hist.legend(loc='upper center', fontsize='small')
    if mode == 'prob':
        hist.set_yscale('log')
    hist.set(xlabel='Confidence', ylabel='Fraction of pairs')

    if out_file is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png', dpi=100)
        atomic_write_bytes(out_file, buffer.getvalue())
    return fig


def plot_results(results: dict,
                 out_dir: str,
                 prefix: str = '',
                 *,
                 groups: Optional[Sequence[str]] = None,
                 title: Optional[str] = None) -> List[str]:
    """Save one reliability diagram per class group of an evaluation.

    Args:
        results (dict): Evaluation results with a ``reliability`` entry
            holding ``mode``, ``n_bins``, ``binning`` and ``groups`` (group
            name -> statistics, see :func:`plot_reliability_diagram`).
        out_dir (str): Folder of the PNGs, created if needed.
        prefix (str): Prefix of the file names. Defaults to ''.
        groups (Sequence[str], optional): Groups to plot, in this order.
            Defaults to None (all groups, in the stored order).
        title (str, optional): Start of every title, e.g. the method name;
            the group is appended as ``'<title> — <group> classes'``.
            Defaults to None (just ``'<group> classes'``).

    Returns:
        List[str]: The written paths, ``{out_dir}/{prefix}reliability_
        {group}.png``, in the order of the groups.

    Raises:
        ValueError: If ``results`` has no ``reliability`` entry or a
            requested group is not in it.
    """
    if 'reliability' not in results:
        raise ValueError("the results have no 'reliability' entry")
    reliability = results['reliability']
    stored = reliability['groups']
    if groups is None:
        groups = list(stored)
    missing = [g for g in groups if g not in stored]
    if missing:
        raise ValueError(f'groups {missing} are not in the results; '
                       f'available: {list(stored)}')
    paths = []
    for group in groups:
        path = osp.join(out_dir, f'{prefix}reliability_{group}.png')
        name = f'{group} classes'
        plot_reliability_diagram(
            stored[group], mode=reliability['mode'],
            n_bins=reliability['n_bins'], binning=reliability['binning'],
            title=f'{title} — {name}' if title else name, out_file=path)
        paths.append(path)
    return paths
