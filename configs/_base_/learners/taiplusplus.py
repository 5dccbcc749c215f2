# TaI++ stage 2: TaI-DPT's text prompts (16 + 16), the stage-1 pseudo-visual
# prompts and two residual adapters (α = 0.6, dropout 0.6) co-learned on
# captions; score = sum of the four branch logits; loss: ranking per branch
# (weights 1, 0.01, 1, 1) + the text/PVP alignment term. Start from a stage-1
# checkpoint: `load_from`, or `load_from_config` (mmccr/apis/stages.py).
learner = dict(type='TaIPlusPlus', stage='colearn', num_classes=80, n_ctx=16,
               alpha=0.6, adapter_dropout=0.6)
loss = dict(type='RankingLoss')  # margin 1, scale 1 (official)
