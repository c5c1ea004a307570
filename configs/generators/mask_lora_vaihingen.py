# Stage 1 on Vaihingen: the Potsdam settings with the Vaihingen data.
_base_ = ['./mask_lora_potsdam.py']
model = dict(source_dataset=dict(type='ISPRSDataset'))
train_dataloader = dict(
    dataset=dict(data_root='data/vaihingen',
                 source_dataset=dict(type='ISPRSDataset')))
val_dataloader = dict(
    dataset=dict(data_root='data/vaihingen',
                 source_dataset=dict(type='ISPRSDataset')))
test_dataloader = val_dataloader
