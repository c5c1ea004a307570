# Stage 1 on LoveDA: the Potsdam settings with the LoveDA data.
_base_ = ['./mask_lora_potsdam.py']
model = dict(source_dataset=dict(type='LoveDADataset'))
train_dataloader = dict(
    dataset=dict(data_root='data/loveDA',
                 source_dataset=dict(type='LoveDADataset')))
val_dataloader = dict(
    dataset=dict(data_root='data/loveDA',
                 source_dataset=dict(type='LoveDADataset')))
test_dataloader = val_dataloader
