"""Benchmark: CoOp text-encoder step with and without context truncation.

One CoOp training step's text part — assemble 40 prompts (the COCO base
classes) with 16 learned context vectors, run the ViT-B/16 text transformer,
backpropagate to the context — timed with the full 77-token context and
with truncation at the last end-of-text token. Weights are random (the
architecture sets the cost). Prints the medians, their ratio and the largest
difference between the two outputs.

Usage::

    python benchmarks/bench_text_encoder.py [--repeats 5] [--device cpu]
"""
import argparse

import torch
from timing import median_time

from mmccr.datasets.coco import COCO_CLASSES
from mmccr.models import CLIPBackbone, CoOp


def step(backbone, learner, truncate: bool) -> torch.Tensor:
    """Text forward and backward of one CoOp step; returns the features."""
    learner.zero_grad(set_to_none=True)
    tokens = learner.tokens
    prompts = tokens.assemble(learner.ctx)
    feats = backbone.encode_token_embeddings(
        prompts, tokens.token_ids, truncate=truncate)
    feats.pow(2).sum().backward()
    return feats.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--model', default='ViT-B-16-quickgelu')
    args = parser.parse_args()

    torch.manual_seed(0)
    backbone = CLIPBackbone(model_name=args.model, pretrained=None)
    learner = CoOp(backbone, n_ctx=16)
    backbone.to(args.device)
    learner.to(args.device)
    learner.set_classes(COCO_CLASSES[:40], backbone)
    length = int(learner.tokens.token_ids.argmax(-1).max()) + 1

    full = step(backbone, learner, truncate=False)
    grad_full = learner.ctx.grad.clone()
    short = step(backbone, learner, truncate=True)
    grad_short = learner.ctx.grad.clone()
    t_full = median_time(lambda: step(backbone, learner, False),
                         args.repeats, args.device)
    t_short = median_time(lambda: step(backbone, learner, True),
                          args.repeats, args.device)

    print(f'model {args.model} (random weights), device {args.device}, '
          f'{torch.get_num_threads()} threads, 40 classes, n_ctx 16, '
          f'median of {args.repeats}')
    print(f'full context (77 tokens):     {t_full * 1e3:9.1f} ms')
    print(f'truncated ({length} tokens):      {t_short * 1e3:9.1f} ms')
    print(f'speed-up: {t_full / t_short:.2f}x')
    print(f'max |feature diff| {(full - short).abs().max().item():.2e}, '
          f'max |grad diff| {(grad_full - grad_short).abs().max().item():.2e}'
          f' (grad scale {grad_full.abs().max().item():.2e})')


if __name__ == '__main__':
    main()
