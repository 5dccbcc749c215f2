# T2I-PAL (TPAMI 2025; no public code, docs/methods/t2i_pal.md lists every
# assumption): TaI-DPT's global + local prompts, a residual visual adapter
# with fusion weight α, class-wise heatmaps pooling the image tokens and
# learnable per-class prototypes; score 0.5 · global + 0.5 · local, scale 4.
learner = dict(type='T2IPAL', n_ctx=16, alpha=0.2, num_classes=80)
loss = dict(type='RankingLoss')  # as TaI-DPT (the paper's is unknown)
