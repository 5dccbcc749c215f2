# KgCoOp (Yao et al., CVPR 2023): CoOp from "a photo of a" plus the
# learner-owned pull to the hand-crafted prompts, 8 · (1 − mean cos).
learner = dict(type='KgCoOp', n_ctx=4, ctx_init='a photo of a',
               loss_weight=8.0, form='cosine')
loss = dict(type='BCELoss')
