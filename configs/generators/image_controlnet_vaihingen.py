# Stage 2 on Vaihingen: the Potsdam settings with the Vaihingen data.
_base_ = ['./image_controlnet_potsdam.py']
__source_dataset = dict(type='ISPRSDataset')
data_root = 'data/vaihingen'
model = dict(source_dataset=__source_dataset)
train_dataloader = dict(
    dataset=dict(data_root=data_root, source_dataset=__source_dataset))
