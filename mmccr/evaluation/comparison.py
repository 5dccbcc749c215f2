"""Method × metric tables in the papers' layout (values ×10⁻²).

Rows are methods; columns are every (metric, group) pair, e.g. ECE on
Base / New / HM. With several seeds a cell is ``mean ± std`` (sample
standard deviation). Items are labelled by
:func:`~mmccr.evaluation.conventions.item_label` (``acc`` becomes
``acc[Hamming]``), and the Markdown form lists the conventions under the
table.
"""
import csv
import io
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .conventions import item_label

Runs = Mapping[str, Sequence[Mapping[str, float]]]


def table_columns(metrics: Sequence[str],
                  groups: Sequence[str]) -> List[Tuple[str, str]]:
    """The (metric, group) columns, in order.

    A metric is ``NAME`` (one column per group) or ``NAME:g1,g2`` (only
    those groups), e.g. ``['ECE', 'Gap:base,new']``.
    """
    columns = []
    for spec in metrics:
        name, _, own = spec.partition(':')
        for group in (own.split(',') if own else groups):
            columns.append((name, group))
    return columns


def metric_key(metrics: Mapping[str, float], name: str,
               group: str) -> Optional[str]:
    """The key of metric ``name`` for ``group`` in ``metrics``.

    ``name`` is either prefixed (``'calib/ECE'``) or bare (``'ECE'``,
    matched under any prefix).
    """
    suffix = f'{name}_{group}'
    for key in metrics:
        if key == suffix or ('/' not in name and key.endswith('/' + suffix)):
            return key
    return None


def summarize(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for one value); NaN-free."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def comparison_rows(runs: Runs, metrics: Sequence[str],
                    groups: Sequence[str]) -> List[dict]:
    """One row per method: ``{(metric, group): (mean, std, n)}`` ×100.

    Args:
        runs (Mapping): method → the metric dicts of its runs (seeds).
        metrics (Sequence[str]): metric names, e.g. ``['ECE', 'ACE']``, see
            :func:`table_columns`.
        groups (Sequence[str]): class groups, e.g. ``['base', 'new', 'HM']``.

    Raises:
        KeyError: a metric is missing from a run (names the method, the
            metric and the available keys).
    """
    rows = []
    for method, results in runs.items():
        row = {'method': method, 'cells': {}}
        for name, group in table_columns(metrics, groups):
            values = []
            for result in results:
                key = metric_key(result, name, group)
                if key is None:
                    raise KeyError(
                        f'{method}: no metric {name!r} for group {group!r}; '
                        f'available: {", ".join(result)}')
                value = result[key]
                values.append(None if value is None else 100 * value)
            mean, std = summarize(values)
            row['cells'][(name, group)] = (mean, std, len(results))
        rows.append(row)
    return rows


def _cell(mean: float, std: float, n: int, digits: int) -> str:
    if math.isnan(mean):
        return '–'
    text = f'{mean:.{digits}f}'
    return text + (f' ± {std:.{digits}f}' if n > 1 else '')


def to_markdown(rows: List[dict], metrics: Sequence[str],
                groups: Sequence[str], digits: int = 2,
                notes: Sequence[str] = ()) -> str:
    """The table as GitHub Markdown, then ``notes`` as a list under it."""
    columns = table_columns(metrics, groups)
    header = ['Method'] + [f'{item_label(m)} {g}' for m, g in columns]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' + '---:|' * (len(header) - 1)]
    for row in rows:
        cells = [_cell(*row['cells'][c], digits) for c in columns]
        lines.append('| ' + ' | '.join([row['method']] + cells) + ' |')
    if notes:
        lines += [''] + [f'- {note}' for note in notes]
    return '\n'.join(lines) + '\n'


def to_csv(rows: List[dict], metrics: Sequence[str],
           groups: Sequence[str]) -> str:
    """The table as CSV: ``method, runs`` then mean and std per cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    columns = table_columns(metrics, groups)
    header = ['method', 'runs']
    for m, g in columns:
        bare = m.split('/')[-1]  # machine-readable: the metric key's name
        header += [f'{bare}_{g}_mean', f'{bare}_{g}_std']
    writer.writerow(header)
    for row in rows:
        values: List[object] = [row['method']]
        values.append(next(iter(row['cells'].values()))[2])
        for column in columns:
            mean, std, _ = row['cells'][column]
            values += [f'{mean:.4f}', f'{std:.4f}']
        writer.writerow(values)
    return out.getvalue()


def cell_text(rows: List[dict], metrics: Sequence[str],
              groups: Sequence[str], digits: int = 2) -> Dict[str, List[str]]:
    """Formatted cells per method, in column order (for rich tables)."""
    columns = table_columns(metrics, groups)
    return {
        row['method']: [_cell(*row['cells'][c], digits) for c in columns]
        for row in rows
    }
