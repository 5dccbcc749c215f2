"""Names of the evaluation conventions, for every table mmccr prints.

A bare ``acc`` or ``HM`` in a table is ambiguous (``docs/metrics.md``,
Conventions). Tables label items with :func:`item_label` and print, under
the table, the lines of :func:`evaluator_conventions`: each metric states
its own choices (:meth:`MultiLabelMetricBase.conventions`), deduplicated,
in evaluator order.
"""
from typing import Dict, Iterable, List, Mapping, Sequence, Union

from mmccr.registry import METRICS

#: Table labels of items whose bare name is ambiguous.
ITEM_LABELS = {
    'acc': 'acc[Hamming]',
    'positive_acc': 'acc[pos-pairs]',
    'top1_acc': 'acc[top-1∈Y]',
}

#: The line that defines the base/new means.
GROUP_MEANS_LINE = ('HM = harmonic mean 2bn/(b+n) of the base and new '
                    'values; Avg = arithmetic mean (b+n)/2 (the CCR paper\'s '
                    'tables)')


def item_label(name: str) -> str:
    """The table label of item ``name`` (``prefix/`` dropped)."""
    bare = name.split('/')[-1]
    return ITEM_LABELS.get(bare, bare)


def evaluator_conventions(metrics: Iterable) -> List[str]:
    """The convention lines of built metrics, deduplicated, in order.

    Args:
        metrics (Iterable): metric objects; those without a
            ``conventions()`` method are skipped.

    Returns:
        list: lines of text.
    """
    lines: List[str] = []
    for metric in metrics:
        if hasattr(metric, 'conventions'):
            lines += [line for line in metric.conventions()
                      if line not in lines]
    return lines


def config_conventions(evaluator: Union[dict, Sequence[dict]]) -> List[str]:
    """:func:`evaluator_conventions` of an evaluator config.

    Args:
        evaluator: a config's ``test_evaluator``: one metric dict, a list of
            them, or a dict with ``metrics``.

    Returns:
        list: lines of text.
    """
    if isinstance(evaluator, Mapping) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    if isinstance(evaluator, Mapping):
        evaluator = [evaluator]
    return evaluator_conventions(
        METRICS.build(dict(metric)) for metric in evaluator)


def shared_conventions(by_method: Mapping[str, List[str]]) -> List[str]:
    """Convention lines of several methods for one table.

    Lines every method shares are listed once; the others are prefixed
    with the methods that use them (``'A, B: line'``).

    Args:
        by_method (Mapping): method -> its convention lines.

    Returns:
        list: lines of text.
    """
    lines: List[str] = []
    users: Dict[str, List[str]] = {}
    for method, own in by_method.items():
        for line in own:
            if line not in users:
                lines.append(line)
            users.setdefault(line, []).append(method)
    return [line if len(users[line]) == len(by_method) else
            f'{", ".join(users[line])}: {line}' for line in lines]
