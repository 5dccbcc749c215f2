# DualCoOp (Sun et al., NeurIPS 2022): positive and negative prompts of 16
# random context vectors, class-specific region aggregation (τ_s = 20),
# logit = z_pos − z_neg; asymmetric loss as in the official code.
learner = dict(type='DualCoOp', n_ctx=16, class_specific=False,
               spatial_temperature=20., include_global=True)
loss = dict(type='AsymmetricLoss')
