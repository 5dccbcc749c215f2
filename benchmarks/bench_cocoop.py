"""Benchmark: one CoCoOp training step, batched + truncated vs official style.

CoCoOp conditions the context on each image, so a batch of B images has
B × C prompts. The official code loops over the images and runs the text
transformer on C prompts of 77 tokens each time; mmccr encodes all B × C
prompts in one batched pass, truncated at the last end-of-text token. Both
steps here start from the same frozen image features (the image tower is
the same in both and is left out) and backpropagate a BCE loss to the
context and the meta-net. Weights are random: the architecture sets the
cost. Prints the medians, their ratio and the largest output and gradient
differences.

Usage::

    python benchmarks/bench_cocoop.py [--repeats 3] [--batch 4] [--device cpu]
"""
import argparse

import torch
import torch.nn.functional as F
from timing import median_time

from mmccr.datasets.coco import COCO_CLASSES
from mmccr.models import CLIPBackbone, CoCoOp, Features


def official_step(backbone, learner, pooled, labels) -> torch.Tensor:
    """Per-image loop over the full 77-token context (the official way)."""
    image = F.normalize(pooled, dim=-1)
    logits = []
    for b in range(pooled.shape[0]):
        ctx = learner.ctx + learner.meta_net(image[b])
        prompts = learner.tokens.assemble(ctx)
        text = backbone.encode_token_embeddings(
            prompts, learner.tokens.token_ids, truncate=False)
        logits.append(backbone.logit_scale * image[b]
                      @ F.normalize(text, dim=-1).t())
    return torch.stack(logits)


def mmccr_step(backbone, learner, pooled, labels) -> torch.Tensor:
    """mmccr's batched, truncated path."""
    return learner(backbone, Features(pooled)).logits


def train_step(fn, backbone, learner, pooled, labels):
    """Forward, BCE, backward; returns the logits and the gradients."""
    learner.zero_grad(set_to_none=True)
    logits = fn(backbone, learner, pooled, labels)
    F.binary_cross_entropy_with_logits(logits, labels).backward()
    grads = torch.cat([p.grad.flatten() for p in learner.parameters()])
    return logits.detach(), grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--classes', type=int, default=40)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--model', default='ViT-B-16-quickgelu')
    args = parser.parse_args()

    torch.manual_seed(0)
    backbone = CLIPBackbone(model_name=args.model, pretrained=None)
    learner = CoCoOp(backbone)
    backbone.to(args.device)
    learner.to(args.device)
    learner.set_classes(COCO_CLASSES[:args.classes], backbone)
    pooled = torch.randn(args.batch, backbone.embed_dim, device=args.device)
    labels = (torch.rand(args.batch, args.classes, device=args.device)
              < 0.1).float()

    runs = {}
    for name, fn in (('official', official_step), ('mmccr', mmccr_step)):
        out = train_step(fn, backbone, learner, pooled, labels)
        seconds = median_time(
            lambda fn=fn: train_step(fn, backbone, learner, pooled, labels),
            args.repeats, args.device)
        runs[name] = (seconds, *out)
    (t_off, z_off, g_off), (t_new, z_new, g_new) = runs.values()
    length = int(learner.tokens.token_ids.argmax(-1).max()) + 1
    print(f'model {args.model} (random weights), device {args.device}, '
          f'{torch.get_num_threads()} threads, batch {args.batch}, '
          f'{args.classes} classes, n_ctx {learner.n_ctx}, median of '
          f'{args.repeats}')
    print(f'official (per-image loop, 77 tokens): {t_off * 1e3:9.1f} ms')
    print(f'mmccr (batched, {length} tokens):      {t_new * 1e3:9.1f} ms')
    print(f'speed-up: {t_off / t_new:.2f}x')
    print(f'max |logit diff| {(z_off - z_new).abs().max().item():.2e}, '
          f'max |grad diff| {(g_off - g_new).abs().max().item():.2e} '
          f'(grad scale {g_off.abs().max().item():.2e})')


if __name__ == '__main__':
    main()
