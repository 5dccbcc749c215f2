# MS-COCO 2014 for T2I-PAL: training on images generated from the 16-shot
# train2014 caption sample (a folder made with any text-to-image model,
# docs/methods/t2i_pal.md: coco_generated/captions.txt lists `image<TAB>
# caption`), each image packed with its caption; evaluation on the val2014
# images. `reference_dataloader` (PIECE, held-out calibration images) is the
# real 16-shot train2014 image sample, as for every learner.
_base_ = ['./coco14_captions_base2new.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='GeneratedImageCaptions',
        data_root='{{$MMCCR_DATA:data}}/coco_generated',
        ann_file='captions.txt',
        data_prefix=dict(img_path='images'),
        classes='coco',
        class_split='base',
        num_shots=16,
        seed=1,
        pipeline=[
            dict(type='LoadImage'),
            dict(type='Resize', size=224),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackImageCaption'),  # the image and its caption
        ]))
