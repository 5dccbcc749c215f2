# The toy world for text-trained learners (TaI-DPT, TaI++): training on 16
# shots per base class of the captions of the 5000 training scenes
# (ToyWorldCaptions: templates, synonyms, labels by the offline matcher; no
# image), evaluation on the test images as for every learner.
# `reference_dataloader` is the 16-shot *image* sample that image-trained
# learners train on (same seed): PIECE's reference features and the
# held-out images of post-hoc calibrators come from it.
_base_ = ['./toyworld_base2new.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ToyWorldCaptions',
        data_root=_base_.data_root,
        split='train',
        num_captions=5000,
        data_seed=0,
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=[dict(type='PackCaption')]))
reference_dataloader = dict(
    dataset=dict(
        type='ToyWorld',
        data_root=_base_.data_root,
        split='train',
        num_images=5000,
        data_seed=0,
        class_split='base',
        num_shots=16,
        seed='train_dataloader.dataset.seed',  # follows the run's seed
        pipeline=_base_.test_pipeline))
