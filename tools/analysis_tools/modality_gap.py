"""The modality gap of zero-shot and tuned models (Figs. 1 and 5).

``python tools/analysis_tools/modality_gap.py STORE [--runs ID ...]``

The test images of the first run are paired with the text embedding of
each of their positive classes. The first panel uses the frozen zero-shot
text embeddings; then one panel per run (default: every finished run of
``--seed``) with its tuned text embeddings. Each panel shows the pairs on
their first two principal components (SVD of the centred pairs) and the
gap ‖mean image − mean text‖ of the unit-norm embeddings (Liang et al.,
2022). Writes ``modality_gap.png``, ``modality_gap.csv`` (gap per panel)
and ``modality_gap_points.csv`` (the plotted coordinates).
"""
import argparse
import os.path as osp
import tempfile

import torch

from mmccr.apis.run_model import image_features, load_run_model, text_features
from mmccr.apis.store import record_name, select_records
from mmccr.evaluation.geometry import modality_gap, pca_2d
from mmccr.utils.io import atomic_write_bytes
from mmccr.visualization.figures import (
    plot_modality_gap,
    rows_to_csv,
    save_png,
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('store', help='results.jsonl of tools/run_grid.py')
    parser.add_argument('--runs', nargs='+', default=(),
                        help='run ids (default: every run of --seed)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--max-images', type=int, default=300,
                        help='test images to embed (the first ones)')
    parser.add_argument('--out-dir',
                        help='default: figures/ beside the store')
    return parser


def panel(name: str, images: torch.Tensor, labels: torch.Tensor,
          texts: torch.Tensor) -> dict:
    """One panel: every (image, positive class) pair, projected."""
    image_idx, class_idx = (labels == 1).nonzero(as_tuple=True)  # (P,)
    pair_images, pair_texts = images[image_idx], texts[class_idx]  # (P, D)
    unit = torch.cat([pair_images, pair_texts]).double()
    unit = unit / unit.norm(dim=1, keepdim=True)
    coords = pca_2d(unit)  # (2P, 2)
    n = len(image_idx)
    return dict(name=name, images=coords[:n].numpy(),
                texts=coords[n:].numpy(), n_pairs=n,
                gap=modality_gap(pair_images, pair_texts))


def main(argv=None) -> list:
    """Write the figure and its CSVs; return their paths."""
    args = build_parser().parse_args(argv)
    records = select_records(args.store, args.runs, args.seed)
    if not records:
        raise SystemExit(f'{args.store}: no finished runs of seed '
                         f'{args.seed}')
    panels = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, record in enumerate(records):
            model, cfg, _ = load_run_model(record, scratch)
            texts = text_features(model)
            if i == 0:  # the frozen image encoder: the same for every run
                data = image_features(model, cfg, args.max_images)
                panels.append(panel('zero-shot prompts', data['images'],
                                    data['labels'], texts['zero_shot']))
            panels.append(panel(record_name(record), data['images'],
                                data['labels'], texts['tuned']))
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.store)),
                                       'figures')
    paths = [osp.join(out_dir, f) for f in (
        'modality_gap.png', 'modality_gap.csv', 'modality_gap_points.csv')]
    save_png(plot_modality_gap(panels), paths[0])
    summary = [dict(panel=p['name'], gap=p['gap'], n_pairs=p['n_pairs'])
               for p in panels]
    points = [dict(panel=p['name'], modality=kind, pair=j, pc1=float(x),
                   pc2=float(y))
              for p in panels for kind in ('image', 'text')
              for j, (x, y) in enumerate(p[f'{kind}s'])]
    for path, rows in zip(paths[1:], (summary, points), strict=True):
        atomic_write_bytes(path, rows_to_csv(rows).encode('utf-8'))
    for path in paths:
        print(f'written {path}')
    return paths


if __name__ == '__main__':
    main()
