# CoOp (Zhou et al., IJCV 2022): 16 shared context vectors, random init,
# class name at the end; the backbone's logit scale (100 for OpenAI CLIP).
learner = dict(
    type='CoOp',
    n_ctx=16,
    ctx_init=None,  # e.g. 'a photo of a'
    class_specific=False,
    class_token_position='end')
loss = dict(type='BCELoss')
