# Stage 2 on LoveDA: the Potsdam settings with the LoveDA data.
_base_ = ['./image_controlnet_potsdam.py']
model = dict(source_dataset=dict(type='LoveDADataset'))
train_dataloader = dict(
    dataset=dict(data_root='data/loveDA',
                 source_dataset=dict(type='LoveDADataset'),
                 # LoveDA tiles are 1024 px: train on 512 crops (same ground
                 # resolution as the 512 px pairs synthesis draws; prompts
                 # state each crop's shares)
                 crop_size=(512, 512)))
