# TaI++ stage 1 (IJCAI 2024): pseudo-visual prompts, one learnable image per
# training class in a global and a local set, trained on captions; logit
# scale 4, τ 40 on caption tokens (50 on image tokens), caption noise 0.04,
# loss rank(global) + 0.1 · rank(local). num_classes: PVP slots (>= the
# training classes).
learner = dict(type='TaIPlusPlus', stage='pretrain', num_classes=80)
loss = dict(type='RankingLoss')  # margin 1, scale 1 (official)
