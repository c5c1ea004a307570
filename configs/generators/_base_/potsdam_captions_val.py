# Held-out validation of the Potsdam generators: 200 val patches drawn in
# turn from each val tile (seeded), with their captions and shares
# (captions_val.jsonl from `tools/caption.py data/potsdam --split val --out
# captions_val.jsonl`), without augmentation. Each generator config sets
# its batch size, prompt order and evaluators; `tools/test.py CONFIG
# CHECKPOINT` runs the same loop. (No data_root variable: the generator
# configs beside it define their own.)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MaskCaptionDataset',
        data_root='data/potsdam',
        captions='captions_val.jsonl',
        source_dataset=dict(type='PotsdamDataset'),
        augment=False,
        subset=dict(num=200, seed=0)))
val_cfg = dict(type='ValLoop')
test_dataloader = val_dataloader
test_cfg = dict(type='TestLoop')
