# CoCoOp (Zhou et al., CVPR 2022): "a photo of a" context shifted per image
# by a meta-net on the image feature (official ViT-B/16 config).
learner = dict(type='CoCoOp', n_ctx=4, ctx_init='a photo of a',
               chunk_size=512)
loss = dict(type='BCELoss')
