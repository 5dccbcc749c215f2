"""Captions through the frozen text tower: global and per-token features."""
import torch
import torch.nn.functional as F

from mmccr.registry import MODELS

SHORT = 'a cat.'
LONG = 'a dog and a cat sitting on a red couch next to a tall window.'


def test_global_feature_equals_open_clip_encode_text(tiny_backbone):
    texts = [SHORT, LONG, 'two people']
    pooled, tokens, mask = tiny_backbone.encode_caption(texts)
    with torch.no_grad():
        expected = tiny_backbone.clip.encode_text(
            tiny_backbone.tokenizer(texts))  # full 77-token pass
    torch.testing.assert_close(pooled, expected, rtol=1e-5, atol=1e-6)
    ids = tiny_backbone.tokenizer(texts)
    eot = ids.argmax(-1)
    # truncated to the longest caption; mask = SOT .. EOT
    assert tokens.shape == (3, int(eot.max()) + 1, pooled.shape[1])
    assert mask.sum(1).tolist() == (eot + 1).tolist()
    # the EOT token feature is the global feature
    torch.testing.assert_close(tokens[torch.arange(3), eot], pooled)


def test_padding_changes_nothing(tiny_backbone):
    alone_pooled, alone_tokens, alone_mask = tiny_backbone.encode_caption(
        [SHORT])
    pooled, tokens, mask = tiny_backbone.encode_caption([SHORT, LONG])
    n = alone_tokens.shape[1]
    assert tokens.shape[1] > n  # SHORT is padded in the batch
    assert alone_mask.all() and not mask[0, n:].any()
    torch.testing.assert_close(pooled[0], alone_pooled[0])
    torch.testing.assert_close(tokens[0, :n], alone_tokens[0])


def test_token_features_equal_a_by_hand_projection(tiny_backbone):
    """Every real token: transformer → ln_final → text projection."""
    clip = tiny_backbone.clip
    ids = tiny_backbone.tokenizer([LONG])
    with torch.no_grad():
        x = clip.token_embedding(ids) + clip.positional_embedding
        x = clip.ln_final(clip.transformer(x, attn_mask=clip.attn_mask))
        expected = x @ clip.text_projection  # (1, 77, D)
    _, tokens, _ = tiny_backbone.encode_caption([LONG])
    n = tokens.shape[1]
    torch.testing.assert_close(tokens, expected[:, :n], rtol=1e-5,
                               atol=1e-6)


def test_classifier_encodes_caption_batches(make_tiny_classifier_cfg):
    model = MODELS.build(make_tiny_classifier_cfg(
        ['cat', 'dog'], learner=dict(type='DualCoOp', n_ctx=2)))
    batch = dict(inputs=[SHORT, LONG],
                 data_samples=dict(gt_label=torch.tensor([[1., 0.],
                                                          [1., 1.]]),
                                   sample_idx=torch.arange(2)))
    data = model.data_preprocessor(batch, True)
    assert data['inputs'] == [SHORT, LONG]  # captions are not normalised
    feats = model.extract_feat(data['inputs'])
    assert feats.modality == 'text'
    assert feats.token_mask is not None and feats.tokens.dim() == 3
    expected = F.normalize(model.backbone.encode_text([SHORT, LONG]), dim=-1)
    torch.testing.assert_close(F.normalize(feats.pooled, dim=-1), expected)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
