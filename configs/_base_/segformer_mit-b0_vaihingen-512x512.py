# SegFormer MiT-B0 on Vaihingen: the Potsdam composition with the stock
# Vaihingen dataset settings (ISPRSDataset, data/vaihingen).
_base_ = ['./segformer_mit-b0_potsdam-512x512.py']
dataset_type = 'ISPRSDataset'
data_root = 'data/vaihingen'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
