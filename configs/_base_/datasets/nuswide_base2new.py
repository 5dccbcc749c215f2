# NUS-WIDE (81 concepts): few-shot training on the 41 base concepts of the
# official train list, evaluation on all 81 of the test list (images missing
# from your copy are dropped and counted). See docs/datasets/nuswide.md.
_base_ = ['./multilabel_loaders.py']
data_root = '{{$MMCCR_DATA:data}}/nuswide'

train_dataloader = dict(
    dataset=dict(type='NUSWIDE', data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(
        type='NUSWIDE',
        data_root=data_root,
        split='test',
        class_counts='ImageList/TrainImagelist.txt'))
test_dataloader = val_dataloader
