# TaI-DPT (Guo et al., CVPR 2023): a global and a local set of 16 random
# context vectors; trained on captions used as images, tested on images.
# Official constants: logit scale 4, spatial temperature 50 on caption
# tokens and 40 on image tokens (COCO/VOC; 4 for NUS-WIDE), score
# 0.5 · global + 0.5 · local, ranking loss on each branch.
learner = dict(type='TaIDPT', n_ctx=16, text_temperature=50.,
               image_temperature=40., merge_rate=0.5, logit_scale=4.)
loss = dict(type='RankingLoss')  # margin 1, scale 1 (official)
