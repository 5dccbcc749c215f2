# Zero-shot CLIP: the backbone's hand-crafted templates, nothing trained.
learner = dict(type='ZeroShotCLIP')
loss = dict(type='BCELoss')
