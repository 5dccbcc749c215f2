"""Evaluation report: a table, a JSON of per-class values, diagrams."""
import inspect
import io
import logging
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mmccr.evaluation.conventions import evaluator_conventions, item_label
from mmccr.registry import HOOKS
from mmccr.utils.digest import config_sha256, data_sha256, file_sha256, plain
from mmccr.utils.io import atomic_write_json

#: Column order of the table; other groups follow.
GROUP_ORDER = ('all', 'base', 'new', 'HM', 'Avg', 'head', 'medium', 'tail')


def metrics_table(metrics: Dict[str, float], title: str) -> Table:
    """A rich table: one row per metric, one column per class group.

    Keys ``prefix/name_group`` become row ``name`` (``prefix/name`` when
    two metrics report the same name; ambiguous names such as ``acc`` are
    labelled by :func:`~mmccr.evaluation.conventions.item_label`) and
    column ``group``; values are shown ×100 (the paper's ×10⁻²).
    """
    parsed: Dict[tuple, Dict[str, float]] = {}
    for key, value in metrics.items():
        prefix, _, rest = key.rpartition('/')
        name, _, group = rest.rpartition('_')
        if name:
            parsed.setdefault((prefix, name), {})[group] = value
    names = [name for _, name in parsed]
    rows = {(item_label(name) if names.count(name) == 1 else
             f'{prefix}/{item_label(name)}'): values
            for (prefix, name), values in parsed.items()}
    groups = [g for g in GROUP_ORDER if any(g in r for r in rows.values())]
    groups += sorted({g for r in rows.values() for g in r} - set(groups))
    table = Table(title=title)
    table.add_column('metric (×10⁻²)')
    for group in groups:
        table.add_column(group, justify='right')
    for name, values in rows.items():
        table.add_row(escape(name), *[
            f'{100 * values[g]:.2f}' if values.get(g) is not None and
            values[g] == values[g] else '–' for g in groups
        ])
    return table


def calibrator_label(calibrators: List[dict]) -> str:
    """Names the calibrators in file names: ``uncalibrated``, or their types
    joined by ``+`` and 6 hex digits of their configs' SHA-256 (e.g.
    ``TemperatureScaling-3f2a1c``), so that configs of the same types with
    other settings do not share a name."""
    if not calibrators:
        return 'uncalibrated'
    types = '+'.join(str(c['type']).rpartition('.')[2] for c in calibrators)
    return f'{types}-{data_sha256(calibrators)[:6]}'


def conventions(metric) -> dict:
    """How a metric evaluates: its type and every ``__init__`` argument it
    keeps as an attribute of the same name (threshold, binning mode,
    ``n_bins``, prefix, ...), defaults included."""
    params = inspect.signature(type(metric).__init__).parameters
    return plain(dict(type=type(metric).__name__, **{
        name: getattr(metric, name)
        for name in params
        if name not in ('self', 'collect_device') and hasattr(metric, name)
    }))


@HOOKS.register_module()
class EvaluationReportHook(Hook):
    """After each evaluation: print a table, write JSON, draw diagrams.

    * a rich table of every metric × class group (×10⁻²) in the log;
    * a JSON in the work directory (atomic write) with the metrics, class
      names, groups, per-class values, reliability statistics and what was
      evaluated: config digest, checkpoint and its SHA-256, calibrators,
      metric conventions (arguments, and the lines printed under the
      table), degenerate-group warnings. ``epoch_N_val_results.json`` beside
      ``epoch_N.pth`` during training; ``<checkpoint name>_test_<label>
      _results.json`` for a test (``test_<label>_results.json`` without a
      checkpoint), ``<label>`` from :func:`calibrator_label`, so tests with
      other calibrators keep their own files;
    * under the table, the evaluator's conventions (and a preset's note),
      and a warning for every degenerate class group the metrics found;
    * with ``plot_dir``, one reliability diagram per class group (PNG).

    Args:
        plot_dir (str, optional): folder for reliability diagrams. Defaults
            to None (no diagrams).
    """

    priority = 'LOW'

    def __init__(self, plot_dir: Optional[str] = None) -> None:
        self.plot_dir = plot_dir

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Report a validation during training."""
        name = f'epoch_{runner.epoch}'
        path = osp.join(runner.work_dir, f'{name}_val_results.json')
        self._report(runner, runner.val_loop, metrics, path, name)

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Report a test run."""
        ckpt = runner._load_from
        stem = osp.splitext(osp.basename(ckpt))[0] + '_test' if ckpt else \
            'test'
        name = f'{stem}_{calibrator_label(self._calibrators(runner))}'
        path = osp.join(runner.work_dir, f'{name}_results.json')
        self._report(runner, runner.test_loop, metrics, path, name, ckpt)

    @staticmethod
    def _calibrators(runner) -> List[dict]:
        """The model's calibrator configs, as plain data."""
        return plain(runner.cfg.get('model', {}).get('calibrators') or [])

    def _report(self, runner, loop, metrics, path: str, name: str,
                checkpoint: Optional[str] = None) -> None:
        if not metrics or not is_main_process():
            return
        console = Console(file=io.StringIO(), width=120, force_terminal=False)
        notes = evaluator_conventions(loop.evaluator.metrics)
        table = metrics_table(metrics, f'{name}: {runner.experiment_name}')
        table.caption = escape('\n'.join(notes)) or None
        table.caption_justify = 'left'
        console.print(table)
        print_log('\n' + console.file.getvalue(), logger='current')
        meta = loop.dataloader.dataset.metainfo
        results = dict(
            metrics=metrics,
            classes=meta.get('classes'),
            groups=meta.get('groups'),
            per_class={},
            config=runner.cfg.filename,
            config_sha256=config_sha256(runner.cfg),
            checkpoint=checkpoint,
            checkpoint_sha256=file_sha256(checkpoint)
            if checkpoint and osp.isfile(checkpoint) else None,
            calibrators=self._calibrators(runner),
            conventions=[conventions(m) for m in loop.evaluator.metrics],
            convention_notes=notes,
            warnings=[])
        for metric in loop.evaluator.metrics:
            details = getattr(metric, 'details', {})
            results['warnings'] += details.get('warnings', [])
            results['per_class'].update({
                f'{metric.prefix}/{name}': values
                for name, values in details.get('per_class', {}).items()
            })
            if 'reliability' in details:  # the first calibration metric's
                results.setdefault('reliability', details['reliability'])
        for warning in results['warnings']:
            print_log(warning, logger='current', level=logging.WARNING)
        atomic_write_json(path, results)
        print_log(f'Per-class results written to {path}', logger='current')
        if self.plot_dir and 'reliability' in results:
            from mmccr.visualization import plot_results
            paths = plot_results(results, self.plot_dir, prefix=f'{name}_',
                                 title=runner.experiment_name)
            print_log(f'Reliability diagrams: {", ".join(paths)}',
                      logger='current')
