"""The layouts of the CCR paper's Tables 1–5, filled from grid run records.

A record is one finished run of a grid results store (plain data:
``cell`` labels by axis, ``seed``, ``metrics``, ``conventions``). Rows are
methods (the cell labels other than the dataset), grouped in blocks by
dataset; a cell is mean ± sample std over seeds of a metric ×10⁻². A
(row, column) without values is shown as missing (``–``), never filled.
The best value of each column of a block is marked (lowest for errors,
highest for mAP and accuracies), and a method is compared with its +CCR
version by :func:`~mmccr.evaluation.stats.wilcoxon_signed_rank` over the
(dataset, seed) pairs they share.

Layouts (our reading of the paper's tables; docs/reproduce.md):

* Tables 1 and 2 — ECE, ACE, MCE, PIECE × Base / New / Avg (HM);
* Table 3 — ECE on head / medium / tail / new classes;
* Table 4 — mAP and accuracy, Base / New / Avg (HM);
* Table 5 — domain generalization: ECE and mAP on every dataset of the
  store (the source first) over all classes.
"""
import csv
import io
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .comparison import metric_key, summarize, table_columns
from .conventions import item_label, shared_conventions
from .stats import TEST_NAME, wilcoxon_signed_rank

#: Axis of the dataset label in a record's ``cell``.
DATASET_AXIS = 'datasets'
#: Items where a higher value is better (the rest: lower is better).
HIGHER_IS_BETTER = ('mAP', 'acc', 'positive_acc', 'top1_acc', 'F1', 'CF1',
                    'OF1')
#: A column: (metric name, class group, dataset label or None).
Column = Tuple[str, str, Optional[str]]
MISSING = '–'


@dataclass
class Layout:
    """What a table shows.

    Attributes:
        number (int): the paper's table number.
        title (str): what it shows.
        metrics (list[str]): metric names (bare, see
            :func:`~mmccr.evaluation.comparison.metric_key`); a name
            ``a|b`` takes the first of ``a``, ``b`` the records have;
            ``NAME:g1,g2`` limits its groups (``table_columns``).
        groups (list[str]): class groups; ``MEAN`` is replaced by ``Avg``
            or ``HM`` (:func:`mean_group`).
        per_dataset_columns (bool): columns per dataset (Table 5) instead of
            a block of rows per dataset.
    """
    number: int
    title: str
    metrics: List[str]
    groups: List[str]
    per_dataset_columns: bool = False


LAYOUTS = {
    1: Layout(1, 'Calibration, base-to-new', ['ECE', 'ACE', 'MCE', 'PIECE'],
              ['base', 'new', 'MEAN']),
    2: Layout(2, 'Calibration, base-to-new', ['ECE', 'ACE', 'MCE', 'PIECE'],
              ['base', 'new', 'MEAN']),
    3: Layout(3, 'Calibration on head / medium / tail / new classes',
              ['ECE'], ['head', 'medium', 'tail', 'new']),
    4: Layout(4, 'Recognition, base-to-new', ['mAP', 'top1_acc|acc'],
              ['base', 'new', 'MEAN']),
    5: Layout(5, 'Domain generalization (source, then targets)',
              ['ECE', 'mAP'], ['all'], per_dataset_columns=True),
}


@dataclass
class Table:
    """A filled table.

    Attributes:
        title (str): the caption (names a reconstruction as one).
        columns (list[Column]): in order.
        blocks (dict): block label (dataset, or '' for one block) →
            row label → column → values (×100, one per seed).
        seeds (dict): block → row → column → the seeds of the values.
        notes (list[str]): conventions and remarks printed under it.
        tests (list[dict]): paired tests (``pair``, ``column``, ``n``,
            ``w_plus``, ``p``, ``mean_diff``).
    """
    title: str
    columns: List[Column]
    blocks: Dict[str, Dict[str, Dict[Column, List[float]]]]
    seeds: Dict[str, Dict[str, Dict[Column, List[int]]]]
    notes: List[str] = field(default_factory=list)
    tests: List[dict] = field(default_factory=list)


def row_label(cell: Mapping[str, str], skip: str = DATASET_AXIS) -> str:
    """A method's label: its cell labels except ``skip`` (the dataset),
    ``a/b``."""
    return '/'.join(str(v) for k, v in cell.items() if k != skip)


def ordered_rows(records: Sequence[dict], skip: str) -> List[str]:
    """Row labels grouped axis by axis: each axis's labels in the order
    they first appear (so a learner's rows stay together even when its
    post-hoc runs were stored last)."""
    first: Dict[Tuple[str, str], int] = {}
    for record in records:
        for axis, label in record['cell'].items():
            first.setdefault((axis, label), len(first))
    keys = {}
    for record in records:
        cell = {k: v for k, v in record['cell'].items() if k != skip}
        keys.setdefault(row_label(cell, skip),
                        tuple(first[item] for item in cell.items()))
    return sorted(keys, key=keys.get)


def mean_group(records: Sequence[dict], prefer: Optional[str] = None) -> str:
    """``Avg`` when the records' conventions are the paper preset (or
    ``prefer='Avg'``), else ``HM``."""
    if prefer:
        return prefer
    paper = any('Paper preset' in line for r in records
                for line in r.get('conventions') or [])
    return 'Avg' if paper else 'HM'


def _resolve(name: str, records: Sequence[dict], group: str) -> str:
    """The first alternative of ``a|b`` that some record has."""
    options = name.split('|')
    for option in options:
        if any(metric_key(r['metrics'], option, group) for r in records):
            return option
    return options[0]


def build_table(records: Sequence[dict], layout: Layout,
                metrics: Optional[Sequence[str]] = None,
                groups: Optional[Sequence[str]] = None,
                mean: Optional[str] = None,
                pair: Optional[Tuple[str, str]] = ('none', 'ccr'),
                pair_axis: str = 'calibrators',
                failed: Sequence[str] = (),
                column_axis: str = DATASET_AXIS) -> Table:
    """Fill a layout from run records.

    Args:
        records (Sequence[dict]): finished runs (``status == 'done'``).
        layout (Layout): the table.
        metrics (Sequence[str], optional): replace the layout's metrics.
        groups (Sequence[str], optional): replace the layout's groups.
        mean (str, optional): ``Avg`` or ``HM`` for the layout's ``MEAN``.
        pair (tuple, optional): labels (of ``pair_axis``) of a method and
            its +CCR version for the paired test; None: no test.
        pair_axis (str): the axis that ``pair`` labels.
        failed (Sequence[str]): ids of failed runs (listed in the notes).
        column_axis (str): the axis whose labels are the columns of a
            ``per_dataset_columns`` layout (Table 5: ``datasets``, or the
            target axis of a domain-generalization grid); the other
            layouts make blocks of it.

    Returns:
        Table: the filled table.
    """
    records = list(records)
    mean = mean_group(records, mean)
    pairs = [(name, mean if group == 'MEAN' else group)
             for name, group in table_columns(metrics or layout.metrics,
                                              groups or layout.groups)]
    pairs = [(_resolve(name, records, group), group)
             for name, group in pairs]
    datasets = list(dict.fromkeys(r['cell'].get(column_axis, '')
                                  for r in records))
    rows = ordered_rows(records, column_axis)
    if layout.per_dataset_columns:
        columns = [(m, g, d) for m, g in pairs for d in datasets]
        block_of = {d: '' for d in datasets}
    else:
        columns = [(m, g, None) for m, g in pairs]
        block_of = {d: d for d in datasets}
    blocks = {b: {row: {c: [] for c in columns} for row in rows}
              for b in dict.fromkeys(block_of.values())}
    seeds = {b: {row: {c: [] for c in columns} for row in rows}
             for b in blocks}
    conventions: Dict[str, List[str]] = {}
    for record in sorted(records, key=lambda r: r['seed']):
        dataset = record['cell'].get(column_axis, '')
        block, row = block_of[dataset], row_label(record['cell'], column_axis)
        conventions.setdefault(row, record.get('conventions') or [])
        for column in columns:
            name, group, only = column
            if only is not None and only != dataset:
                continue
            key = metric_key(record['metrics'], name, group)
            value = record['metrics'].get(key) if key else None
            if value is None or math.isnan(value):
                continue
            blocks[block][row][column].append(100 * value)
            seeds[block][row][column].append(record['seed'])
    notes = shared_conventions(conventions)
    reconstruction = any('reconstruction' in line for line in notes)
    what = f'Table {layout.number}: {layout.title}' \
        if metrics is None and groups is None else \
        f'Table {layout.number} layout, chosen columns'
    title = f'{what}, ×10⁻², mean ± sample std over seeds'
    if reconstruction:
        title += ' (a reconstruction: the paper preset of the evaluation)'
    notes.append(f'{MISSING} = no finished run (missing, not filled); bold '
                 '= best of the column (lowest error, highest mAP/acc)')
    if failed:
        notes.append(f'{len(failed)} failed run(s) not in the table: '
                     + ', '.join(failed))
    table = Table(title, columns, blocks, seeds, notes)
    if pair:
        table.tests = paired_tests(records, columns, pair, pair_axis,
                                   column_axis)
        if table.tests:
            notes.append(f'Paired test: {TEST_NAME}; over the (dataset, '
                         'seed) pairs both methods have; Δ = mean of '
                         f'({pair[1]} − {pair[0]}) ×10⁻²')
    return table


def paired_tests(records: Sequence[dict], columns: Sequence[Column],
                 pair: Tuple[str, str], axis: str,
                 block_axis: str = DATASET_AXIS) -> List[dict]:
    """One test per method with both ``pair`` labels and per column;
    the pairs are (``block_axis`` label, seed)."""
    values: Dict[Tuple[str, str], Dict[Tuple[str, int], dict]] = {}
    for record in records:
        cell = dict(record['cell'])
        label = cell.get(axis)
        if label not in pair:
            continue
        dataset = cell.pop(block_axis, '')
        cell.pop(axis)
        method = row_label(cell, block_axis)
        values.setdefault((method, label), {})[(dataset, record['seed'])] = \
            record['metrics']
    tests = []
    for method in dict.fromkeys(m for m, _ in values):
        first, second = (values.get((method, p), {}) for p in pair)
        shared = sorted(set(first) & set(second))
        if not shared:
            continue
        for column in columns:
            name, group, only = column
            xs, ys = [], []
            for key in shared:
                if only is not None and key[0] != only:
                    continue
                a, b = (metric_key(m[key], name, group) for m in (first,
                                                                  second))
                va = first[key].get(a) if a else None
                vb = second[key].get(b) if b else None
                if va is None or vb is None:
                    continue
                xs.append(100 * va)
                ys.append(100 * vb)
            if not xs:
                continue
            result = wilcoxon_signed_rank(xs, ys)
            tests.append(dict(pair=f'{method}: {pair[1]} vs {pair[0]}',
                              column=column_label(column), n_pairs=len(xs),
                              **result._asdict()))
    return tests


def column_label(column: Column) -> str:
    """``ECE base`` or ``ECE all @ coco15``."""
    name, group, dataset = column
    label = f'{item_label(name)} {group}'
    return f'{label} @ {dataset}' if dataset is not None else label


def _best(table: Table, block: str, digits: int) -> Dict[Column, str]:
    """The best mean of each column of a block, as printed (rows that
    print the same mean tie)."""
    best = {}
    for column in table.columns:
        means = [summarize(rows[column])[0]
                 for rows in table.blocks[block].values() if rows[column]]
        if not means:
            continue
        bare = column[0].split('/')[-1]
        if bare in HIGHER_IS_BETTER:
            value = max(means)
        elif bare == 'Gap':  # signed: closest to zero
            value = min(means, key=abs)
        else:
            value = min(means)
        best[column] = f'{value:.{digits}f}'
    return best


def cells(table: Table, digits: int = 2) -> Dict[str, Dict[str, list]]:
    """Per block and row: ``(text, is_best, mean, std, n)`` per column."""
    out: Dict[str, Dict[str, list]] = {}
    max_n = max((len(v) for rows in table.blocks.values()
                 for cols in rows.values() for v in cols.values()),
                default=0)
    for block, rows in table.blocks.items():
        best = _best(table, block, digits)
        out[block] = {}
        for row, cols in rows.items():
            entries = []
            for column in table.columns:
                values = cols[column]
                if not values:
                    entries.append((MISSING, False, math.nan, math.nan, 0))
                    continue
                mean, std = summarize(values)
                text = f'{mean:.{digits}f}'
                if len(values) > 1:
                    text += f' ± {std:.{digits}f}'
                if len(values) < max_n:
                    text += f' (n={len(values)})'
                entries.append((text, f'{mean:.{digits}f}' == best[column],
                                mean, std, len(values)))
            out[block][row] = entries
    return out


def to_markdown(table: Table, digits: int = 2) -> str:
    """GitHub Markdown: the table (best in bold), the tests, the notes."""
    header = ['Method'] + [column_label(c) for c in table.columns]
    lines = [f'**{table.title}**', '',
             '| ' + ' | '.join(header) + ' |',
             '|---|' + '---:|' * len(table.columns)]
    for block, rows in cells(table, digits).items():
        if block:
            lines.append(f'| *{block}* |' + ' |' * len(table.columns))
        for row, entries in rows.items():
            texts = [f'**{t}**' if best else t
                     for t, best, *_ in entries]
            lines.append('| ' + ' | '.join([row] + texts) + ' |')
    if table.tests:
        lines += ['', '| Paired test | Column | n | Δ | W+ | p |',
                  '|---|---|---:|---:|---:|---:|']
        lines += [f'| {t["pair"]} | {t["column"]} | {t["n_pairs"]} | '
                  f'{t["mean_diff"]:+.{digits}f} | {t["w_plus"]:g} | '
                  f'{t["p"]:.4f} |' for t in table.tests]
    lines += [''] + [f'- {note}' for note in table.notes]
    return '\n'.join(lines) + '\n'


def to_csv(table: Table) -> str:
    """CSV: one line per block and row, mean/std/n/best per column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    header = ['block', 'method']
    for column in table.columns:
        stem = column_label(column).replace(' @ ', '@').replace(' ', '_')
        header += [f'{stem}_{k}' for k in ('mean', 'std', 'n', 'best')]
    writer.writerow(header)
    for block, rows in cells(table).items():
        for row, entries in rows.items():
            line: List[object] = [block, row]
            for _, best, mean, std, n in entries:
                line += ['' if n == 0 else f'{mean:.4f}',
                         '' if n == 0 else f'{std:.4f}', n, int(best)]
            writer.writerow(line)
    return out.getvalue()


def tests_csv(table: Table) -> str:
    """CSV of the paired tests."""
    out = io.StringIO()
    writer = csv.DictWriter(out, ['pair', 'column', 'n_pairs', 'n',
                                  'w_plus', 'p', 'mean_diff', 'test'],
                            lineterminator='\n')
    writer.writeheader()
    for test in table.tests:
        writer.writerow(dict(test, test=TEST_NAME))
    return out.getvalue()


LATEX_SPECIAL = {'\\': r'\textbackslash{}', '&': r'\&', '%': r'\%',
                 '$': r'\$', '#': r'\#', '_': r'\_', '{': r'\{', '}': r'\}',
                 '~': r'\textasciitilde{}', '^': r'\textasciicircum{}',
                 '±': r'$\pm$', '×': r'$\times$', '⁻²': r'$^{-2}$',
                 '–': '--', 'Δ': r'$\Delta$', '−': '-'}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    out, i = [], 0
    while i < len(text):
        if text[i:i + 2] in LATEX_SPECIAL:
            out.append(LATEX_SPECIAL[text[i:i + 2]])
            i += 2
            continue
        out.append(LATEX_SPECIAL.get(text[i], text[i]))
        i += 1
    return ''.join(out)


def to_latex(table: Table, digits: int = 2) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``);
    best in bold, conventions and tests under the tabular."""
    n = len(table.columns)
    lines = [r'\begin{table}[t]', r'\centering', r'\small',
             r'\caption{' + latex_escape(table.title) + '}',
             r'\begin{tabular}{l' + 'r' * n + '}', r'\toprule']
    spans: List[Tuple[str, int]] = []  # metric header spans
    for column in table.columns:
        head = item_label(column[0]) + (f' @ {column[2]}'
                                        if column[2] is not None else '')
        if spans and spans[-1][0] == head:
            spans[-1] = (head, spans[-1][1] + 1)
        else:
            spans.append((head, 1))
    lines.append('Method & ' + ' & '.join(
        rf'\multicolumn{{{k}}}{{c}}{{{latex_escape(h)}}}' for h, k in spans)
        + r' \\')
    start, rules = 2, []
    for _, k in spans:
        rules.append(rf'\cmidrule(lr){{{start}-{start + k - 1}}}')
        start += k
    lines.append(' '.join(rules))
    lines.append(' & ' + ' & '.join(latex_escape(c[1]) for c in table.columns)
                 + r' \\')
    lines.append(r'\midrule')
    for index, (block, rows) in enumerate(cells(table, digits).items()):
        if block:
            if index:
                lines.append(r'\midrule')
            lines.append(rf'\multicolumn{{{n + 1}}}{{l}}'
                         rf'{{\textit{{{latex_escape(block)}}}}} \\')
        for row, entries in rows.items():
            texts = [rf'\textbf{{{latex_escape(t)}}}' if best
                     else latex_escape(t) for t, best, *_ in entries]
            lines.append(' & '.join([latex_escape(row)] + texts) + r' \\')
    lines += [r'\bottomrule', r'\end{tabular}']
    notes = list(table.notes)
    notes += [f'{t["pair"]}, {t["column"]}: Δ = {t["mean_diff"]:+.2f}, '
              f'p = {t["p"]:.4f} (n = {t["n_pairs"]})' for t in table.tests]
    if notes:
        lines += [r'\par\smallskip', r'\begin{minipage}{\linewidth}',
                  r'\footnotesize']
        lines += [latex_escape(note) + r'\\' for note in notes]
        lines.append(r'\end{minipage}')
    lines.append(r'\end{table}')
    return '\n'.join(lines) + '\n'
