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
import tempfile

import torch

from mmccr.apis.figure_tools import figure_parser, figure_records, write_figure
from mmccr.apis.run_model import image_features, load_run_model, text_features
from mmccr.apis.store import record_name
from mmccr.evaluation.geometry import modality_gap, pca_2d
from mmccr.visualization.figures import plot_modality_gap


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = figure_parser(__doc__.split('\n')[0])
    parser.add_argument('--max-images', type=int, default=300,
                        help='test images to embed (the first ones)')
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
    records = figure_records(args)
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
    summary = [dict(panel=p['name'], gap=p['gap'], n_pairs=p['n_pairs'])
               for p in panels]
    points = [dict(panel=p['name'], modality=kind, pair=j, pc1=float(x),
                   pc2=float(y))
              for p in panels for kind in ('image', 'text')
              for j, (x, y) in enumerate(p[f'{kind}s'])]
    return write_figure(args, plot_modality_gap(panels), 'modality_gap.png',
                        {'modality_gap.csv': summary,
                         'modality_gap_points.csv': points})


if __name__ == '__main__':
    main()
