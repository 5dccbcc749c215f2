"""Pretrain the toy world's tiny CLIP (``ToyCLIP``) contrastively.

The corpus is the first ``--images`` images of the toy world's
``'pretrain'`` split, drawn once into memory, each with ``--captions``
captions (every caption names every object of its scene, in varied
phrasings and synonyms). Each step takes a random batch of images and one
caption of each; the order is a function of ``--seed``, like the
initialisation.

The loss is CLIP's symmetric InfoNCE with a learnable logit scale (clamped
at 100), with one change: the target of an image over the captions of its
batch is proportional to the overlap of the scenes they describe (Jaccard
index of the two object sets, which the captions state). For distinct,
disjoint scenes this is CLIP's one-hot target. With one-hot targets,
``'a red ball'`` is pushed away from every image that shows a red ball and
something else, and the zero-shot mAP stays near 0.3 after 12 CPU minutes
(``docs/toyworld.md``). The optimiser is AdamW with a linear warm-up and a
cosine decay to zero.

Images are resized to the model's input side (32 px) by the same
:class:`~mmccr.datasets.transforms.Resize` as the toy world's pipelines,
then CLIP-normalised. At the end the weights are written as float16
safetensors (atomically) and the zero-shot mAP on the toy ``'test'`` split
is printed, with the prompt ``'a photo of a {name}.'``.

``--loss siglip`` (ToyCLIP v2, ``ToyCLIP-Sigmoid``) replaces InfoNCE by a
SigLIP-style sigmoid loss with a learned bias (open_clip's
``init_logit_bias``, giving ``model.logit_bias``): every (image, caption)
pair of the batch is a binary problem whose target is the fraction of the
caption's objects that the image shows (:func:`coverage_targets`), so a
zero-shot prompt naming one class has target 1 exactly when the class is
present, and ``sigmoid(scale * cos + bias)`` is a presence probability.
(The model is not named ``...SigLIP``: open_clip gives any model whose
name contains "siglip" the SigLIP sentencepiece tokenizer.)

The end of the run reports the zero-shot mAP and the zero-shot binary-mode
ECE (``docs/metrics.md``; logits ``scale * cos (+ bias)``) on the test
images, and the wall-clock and process CPU time of the pretraining.

The command behind ``mmccr/models/backbones/toyclip/toyclip.safetensors``::

    python tools/toyworld/pretrain_clip.py

and behind ``mmccr/models/backbones/toyclip/toyclip_siglip.safetensors``::

    python tools/toyworld/pretrain_clip.py --loss siglip \
        --model-config mmccr/models/backbones/toyclip/ToyCLIP-Sigmoid.json \
        --out mmccr/models/backbones/toyclip/toyclip_siglip.safetensors
"""
import argparse
import json
import math
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import track
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

from mmccr.datasets.fewshot import base_new_split
from mmccr.datasets.toyworld import CLASS_NAMES, caption, scene_image
from mmccr.datasets.toyworld.captions import (
    COLOUR_SYNONYMS,
    SHAPE_SYNONYMS,
    TEMPLATES,
)
from mmccr.datasets.toyworld.world import labels_of
from mmccr.datasets.transforms import Resize
from mmccr.evaluation.functional import average_precision, ece
from mmccr.models.backbones.clip import (
    OPENAI_MEAN,
    OPENAI_STD,
    register_model_config,
)
from mmccr.models.backbones.toyclip import (
    TOYCLIP_CONFIG,
    TOYCLIP_WEIGHTS,
)
from mmccr.utils.io import atomic_write_bytes

#: CLIP's largest logit scale.
MAX_LOGIT_SCALE = 100.0

#: Pretraining losses: CLIP's InfoNCE with overlap targets, or a
#: SigLIP-style sigmoid loss with coverage targets (needs a logit bias).
LOSSES = ('infonce', 'siglip')


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Pretrain the tiny CLIP of the toy world.')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the initialisation and the batch '
                        'order (default: 0)')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='seed of the toy world (default: 0)')
    parser.add_argument('--images', type=int, default=40000,
                        help='images in the corpus (default: 40000)')
    parser.add_argument('--captions', type=int, default=2,
                        help='captions per image (default: 2)')
    parser.add_argument('--steps', type=int, default=2000,
                        help='optimisation steps (default: 2000)')
    parser.add_argument('--batch-size', type=int, default=128,
                        help='images per step (default: 128)')
    parser.add_argument('--lr', type=float, default=3e-3,
                        help='peak learning rate (default: 3e-3)')
    parser.add_argument('--weight-decay', type=float, default=0.1,
                        help='AdamW weight decay of matrices (default: 0.1)')
    parser.add_argument('--warmup', type=float, default=0.05,
                        help='warm-up, as a fraction of the steps '
                        '(default: 0.05)')
    parser.add_argument('--eval-images', type=int, default=2000,
                        help='test images of the zero-shot mAP '
                        '(default: 2000)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads (default: 2)')
    parser.add_argument('--out', default=TOYCLIP_WEIGHTS,
                        help='output safetensors file (default: the '
                        'packaged toyclip.safetensors)')
    parser.add_argument('--loss', choices=LOSSES, default='infonce',
                        help="'infonce' (ToyCLIP, default) or 'siglip' "
                        '(sigmoid loss with a learned bias; the model config '
                        'must set init_logit_bias)')
    parser.add_argument('--model-config', default=TOYCLIP_CONFIG,
                        help='open_clip model config (JSON); its file stem '
                        'is the model name (default: ToyCLIP.json)')
    args = parser.parse_args()
    for name in ('images', 'captions', 'steps', 'batch_size', 'eval_images',
                 'threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
    if args.batch_size > args.images:
        parser.error(f'--batch-size ({args.batch_size}) must not exceed '
                     f'--images ({args.images})')
    if not 0 <= args.warmup < 1:
        parser.error(f'--warmup must be in [0, 1), got {args.warmup}')
    if args.loss == 'siglip':
        with open(args.model_config, encoding='utf-8') as file:
            if json.load(file).get('init_logit_bias') is None:
                parser.error(f'--loss siglip needs a learned logit bias: set '
                             f'"init_logit_bias" in {args.model_config}')
    if not args.out.endswith('.safetensors'):
        parser.error(f'--out must end with .safetensors, got {args.out!r}')
    return args


class Preprocess(nn.Module):
    """uint8 images to the model's input: resize, then CLIP-normalise.

    Args:
        size (int): the model's input side.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.resize = Resize(size, interpolation='bilinear')
        self.register_buffer('mean', 255 * torch.tensor(OPENAI_MEAN)[:, None,
                                                                    None])
        self.register_buffer('std', 255 * torch.tensor(OPENAI_STD)[:, None,
                                                                  None])

    def shrink(self, images: Tensor) -> Tensor:
        """Resize uint8 ``(B, 3, H, W)`` to uint8 ``(B, 3, S, S)``."""
        return self.resize.transform(dict(img=images))['img']

    def forward(self, images: Tensor) -> Tensor:
        """Normalise uint8 ``(B, 3, S, S)`` to float."""
        return (images.float() - self.mean) / self.std


def draw_images(data_seed: int, split: str, num: int,
                preprocess: Preprocess) -> tuple:
    """The first ``num`` images of a split, resized to the model's side.

    Returns:
        tuple: uint8 images ``(num, 3, S, S)``, int8 labels ``(num, C)``
        and the class indices of every image.
    """
    images, objects = [], []
    for start in track(range(0, num, 1000), description=f'drawing {split}',
                       transient=True):
        chunk = []
        for index in range(start, min(start + 1000, num)):
            img, objs = scene_image(data_seed, split, index)
            chunk.append(img.transpose(2, 0, 1))
            objects.append(objs)
        images.append(preprocess.shrink(torch.from_numpy(np.stack(chunk))))
    labels = torch.from_numpy(np.stack([labels_of(o) for o in objects]))
    return torch.cat(images), labels, objects


def overlap_targets(labels: Tensor) -> Tensor:
    """Soft InfoNCE targets from scene overlap.

    Args:
        labels (Tensor): multi-hot labels ``(B, C)`` of the scenes (each
            with at least one object).

    Returns:
        Tensor: ``(B, B)`` rows summing to one, proportional to the Jaccard
        index ``|A ∩ B| / |A ∪ B|`` of the scenes' object sets.
    """
    labels = labels.float()
    inter = labels @ labels.t()
    sizes = labels.sum(1)
    jaccard = inter / (sizes[:, None] + sizes[None] - inter)
    return jaccard / jaccard.sum(1, keepdim=True)


def coverage_targets(labels: Tensor) -> Tensor:
    """Sigmoid-loss targets from scene overlap.

    Args:
        labels (Tensor): multi-hot labels ``(B, C)`` of the scenes (each
            with at least one object); caption ``j`` names the objects of
            scene ``j``.

    Returns:
        Tensor: ``(B, B)``, entry ``(i, j)`` = ``|A_i ∩ A_j| / |A_j|``, the
        fraction of caption ``j``'s objects that image ``i`` shows: 1 when
        the caption is true of the image (a caption naming one class: the
        class is present), 0 when it shares nothing.
    """
    labels = labels.float()
    return (labels @ labels.t()) / labels.sum(1)[None]


def siglip_loss(image_features: Tensor, text_features: Tensor,
                logit_scale: Tensor, logit_bias: Tensor,
                labels: Tensor) -> Tensor:
    """SigLIP-style sigmoid loss with scene-coverage targets.

    Every (image, caption) pair of the batch is a binary problem with
    logit ``exp(logit_scale) * cos + logit_bias`` and the soft target of
    :func:`coverage_targets`; as in SigLIP the binary cross-entropies are
    summed over the batch's captions and averaged over its images.

    Args:
        image_features (Tensor): unnormalised ``(B, D)``.
        text_features (Tensor): unnormalised ``(B, D)``, row ``i`` is a
            caption of image ``i``.
        logit_scale (Tensor): log of the cosine multiplier (scalar).
        logit_bias (Tensor): the learned bias (scalar or ``(1,)``).
        labels (Tensor): multi-hot labels ``(B, C)`` of the images.

    Returns:
        Tensor: scalar loss.
    """
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = logit_scale.exp() * image_features @ text_features.t() + \
        logit_bias  # (B, B): image i, caption j
    return F.binary_cross_entropy_with_logits(
        logits, coverage_targets(labels), reduction='sum') / len(logits)


def batch_loss(model: nn.Module, loss: str, image_features: Tensor,
               text_features: Tensor, labels: Tensor) -> Tensor:
    """The ``--loss`` of a batch with the model's scale (and bias)."""
    if loss == 'siglip':
        return siglip_loss(image_features, text_features, model.logit_scale,
                           model.logit_bias, labels)
    return clip_loss(image_features, text_features, model.logit_scale,
                     labels)


def clip_loss(image_features: Tensor, text_features: Tensor,
              logit_scale: Tensor, labels: Tensor) -> Tensor:
    """Symmetric InfoNCE with scene-overlap targets.

    Args:
        image_features (Tensor): unnormalised ``(B, D)``.
        text_features (Tensor): unnormalised ``(B, D)``, row ``i`` is a
            caption of image ``i``.
        logit_scale (Tensor): log of the inverse temperature (scalar).
        labels (Tensor): multi-hot labels ``(B, C)`` of the images.

    Returns:
        Tensor: the mean of the image-to-text and text-to-image
        cross-entropies.
    """
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = logit_scale.exp() * image_features @ text_features.t()
    target = overlap_targets(labels)  # symmetric
    return (torch.sum(-target * F.log_softmax(logits, 1), 1).mean() +
            torch.sum(-target * F.log_softmax(logits.t(), 1), 1).mean()) / 2


class CompactEmbedding(nn.Module):
    """A token table whose trainable part is the rows the corpus uses.

    The captions use a few dozen of CLIP's 49408 tokens; training only
    those rows keeps AdamW from updating (and decaying) the whole table
    every step. Other ids read the frozen table. :meth:`merged` writes the
    trained rows back into a plain :class:`torch.nn.Embedding`.

    Args:
        table (nn.Embedding): the model's token embedding ``(V, W)``.
        token_ids (Tensor): ids of the trainable rows ``(K,)``.
    """

    def __init__(self, table: nn.Embedding, token_ids: Tensor) -> None:
        super().__init__()
        self.table = table.requires_grad_(False)
        self.register_buffer('token_ids', token_ids)
        lookup = torch.full((table.num_embeddings, ), -1, dtype=torch.long)
        lookup[token_ids] = torch.arange(len(token_ids))
        self.register_buffer('lookup', lookup)
        self.rows = nn.Parameter(table.weight[token_ids].clone())

    def forward(self, ids: Tensor) -> Tensor:
        """Embeddings ``(..., W)`` of token ids ``(...)``."""
        row = self.lookup[ids]
        trained = self.rows[row.clamp(min=0)]
        return torch.where((row >= 0)[..., None], trained, self.table(ids))

    @torch.no_grad()
    def merged(self) -> nn.Embedding:
        """The full table with the trained rows written in."""
        self.table.weight[self.token_ids] = self.rows
        return self.table.requires_grad_(True)


def corpus_token_ids(tokenizer) -> Tensor:
    """Ids of every token that captions and zero-shot prompts can use."""
    words = [w for syn in COLOUR_SYNONYMS.values() for w in syn]
    words += [w for syn in SHAPE_SYNONYMS.values() for w in syn]
    texts = [t.format('a x, an x and x') for t in TEMPLATES]
    texts += words + [f'a photo of a {n}.' for n in CLASS_NAMES]
    return torch.unique(tokenizer(texts))


def encode_captions(model: nn.Module, ids: Tensor) -> Tensor:
    """``model.encode_text`` on the positions up to the last end of text.

    Under the causal mask no position attends to a later one, so cutting
    the padding after the last end-of-text token (the largest id) leaves
    the pooled features unchanged and saves time.

    Args:
        model (nn.Module): an open_clip ``CLIP``.
        ids (Tensor): token ids ``(B, L)``.

    Returns:
        Tensor: unnormalised text features ``(B, D)``.
    """
    eot = ids.argmax(dim=-1)
    length = int(eot.max()) + 1
    x = model.token_embedding(ids[:, :length])
    x = x + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)[torch.arange(len(ids)), eot]
    return x @ model.text_projection


def param_groups(model: nn.Module, weight_decay: float) -> List[dict]:
    """Decay matrices (and embeddings); not gains, biases or the scale."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.ndim < 2 or 'logit_scale' in name:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        dict(params=decay, weight_decay=weight_decay),
        dict(params=no_decay, weight_decay=0.0)
    ]


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


def logit_bias(model: nn.Module) -> Optional[float]:
    """The open_clip model's learned logit bias, None without one."""
    bias = getattr(model, 'logit_bias', None)
    return None if bias is None else float(bias.detach().reshape(()))


@torch.no_grad()
def zero_shot_scores(model: nn.Module, tokenizer, preprocess: Preprocess,
                     images: Tensor, labels: Tensor) -> Dict[str, float]:
    """Zero-shot mAP and binary-mode ECE (all / base / new), and chance.

    The logits are the model's own ``exp(logit_scale) * cos``, plus its
    ``logit_bias`` when it has one. Chance is the mean label frequency over
    the classes with a positive: the expected AP of random scores.

    Returns:
        dict: ``map_<group>`` and ``ece_<group>`` (fractions) for ``all``,
        ``base``, ``new``, and ``chance``.
    """
    model.eval()
    prompts = tokenizer([f'a photo of a {n}.' for n in CLASS_NAMES])
    text = F.normalize(model.encode_text(prompts), dim=-1)
    feats = torch.cat([
        F.normalize(model.encode_image(preprocess(chunk)), dim=-1)
        for chunk in images.split(500)
    ])
    logits = (model.logit_scale.exp() * feats @ text.t()).double().numpy()
    logits += logit_bias(model) or 0.0  # (N, C)
    per_class = dict(map=average_precision(logits, labels.numpy()),
                     ece=ece(logits, labels.numpy(), mode='binary'))
    split = base_new_split(len(CLASS_NAMES))
    split['all'] = list(range(len(CLASS_NAMES)))
    present = labels.numpy().sum(0) > 0
    scores = {f'{name}_{group}': float(np.nanmean(values[members]))
              for name, values in per_class.items()
              for group, members in split.items()}
    scores['chance'] = float(labels.numpy().mean(0)[present].mean())
    return scores


def save_weights(model: nn.Module, path: str, metadata: Dict[str,
                                                              str]) -> int:
    """Write the state dict as float16 safetensors, atomically.

    Returns:
        int: the file size in bytes.
    """
    state = {
        k: (v.half() if v.is_floating_point() else v).contiguous()
        for k, v in model.state_dict().items()
    }
    data = safetensors_bytes(state, metadata=metadata)
    atomic_write_bytes(path, data)
    return len(data)


def pretrain(model: nn.Module, tokenizer, args: argparse.Namespace,
             preprocess: Preprocess) -> None:
    """Draw the corpus and run the training loop."""
    images, labels, objects = draw_images(args.data_seed, 'pretrain',
                                          args.images, preprocess)
    # Caption k of image i comes from its own generator.
    captions = torch.stack([
        tokenizer([
            caption(objs, np.random.default_rng([args.data_seed, i, k]))
            for i, objs in enumerate(objects)
        ]) for k in track(range(args.captions), description='captioning',
                          transient=True)
    ])  # (K, N, L)
    model.token_embedding = CompactEmbedding(model.token_embedding,
                                             corpus_token_ids(tokenizer))
    optimizer = torch.optim.AdamW(
        param_groups(model, args.weight_decay),
        lr=args.lr,
        betas=(0.9, 0.98),
        eps=1e-6)
    warmup = round(args.warmup * args.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, args.steps, warmup))
    order = torch.Generator().manual_seed(args.seed)
    batches_per_epoch = args.images // args.batch_size
    model.train()
    for step in track(range(args.steps), description='pretraining'):
        if step % batches_per_epoch == 0:
            perm = torch.randperm(args.images, generator=order)
        first = (step % batches_per_epoch) * args.batch_size
        index = perm[first:first + args.batch_size]
        variant = torch.randint(args.captions, (args.batch_size, ),
                                generator=order)
        loss = batch_loss(
            model, args.loss, model.encode_image(preprocess(images[index])),
            encode_captions(model, captions[variant, index]), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))
    model.token_embedding = model.token_embedding.merged()
    model.eval()


def main() -> None:
    """Train, save and evaluate."""
    args = parse_args()
    console = Console()
    torch.set_num_threads(args.threads)
    import open_clip
    name = osp.splitext(osp.basename(args.model_config))[0]
    register_model_config(name, args.model_config)
    torch.manual_seed(args.seed)
    model = open_clip.create_model(name, pretrained=None)
    tokenizer = open_clip.get_tokenizer(name)
    preprocess = Preprocess(model.visual.image_size[0])
    num_params = sum(p.numel() for p in model.parameters())
    console.print(f'[bold]{name}[/]: {num_params / 1e6:.2f}M '
                  f'parameters; {args.loss} loss, {args.steps} steps of '
                  f'{args.batch_size} images on {torch.get_num_threads()} '
                  'threads')
    start, cpu_start = time.perf_counter(), time.process_time()
    pretrain(model, tokenizer, args, preprocess)
    minutes = (time.perf_counter() - start) / 60
    cpu_minutes = (time.process_time() - cpu_start) / 60
    size_bytes = save_weights(
        model, args.out,
        dict(model=name, loss=args.loss, seed=str(args.seed),
             data_seed=str(args.data_seed), images=str(args.images),
             steps=str(args.steps), batch_size=str(args.batch_size),
             lr=str(args.lr)))
    bias = logit_bias(model)
    console.print(f'Saved {args.out} ({size_bytes / 2**20:.2f} MiB) after '
                  f'{minutes:.1f} min wall clock, {cpu_minutes:.1f} min '
                  f'process CPU time; logit scale '
                  f'{float(model.logit_scale.detach().exp()):.2f}, bias '
                  f'{"none" if bias is None else f"{bias:.2f}"}.')
    test_images, test_labels, _ = draw_images(args.data_seed, 'test',
                                              args.eval_images, preprocess)
    scores = zero_shot_scores(model, tokenizer, preprocess, test_images,
                              test_labels)
    console.print(
        f'Zero-shot mAP on {args.eval_images} test images: '
        f'all {scores["map_all"]:.3f}, base {scores["map_base"]:.3f}, new '
        f'{scores["map_new"]:.3f} (chance {scores["chance"]:.3f}); '
        f'binary-mode ECE x100: all {100 * scores["ece_all"]:.2f}, base '
        f'{100 * scores["ece_base"]:.2f}, new {100 * scores["ece_new"]:.2f}; '
        f'{(time.perf_counter() - start) / 60:.1f} min in all.')


if __name__ == '__main__':
    main()
