# Stage 1 on LoveDA: the Potsdam settings with the LoveDA data. LoveDA tiles
# are 1024 px: train on 512 crops (same ground resolution as the 512 px
# pairs synthesis draws; prompts state each crop's shares).
_base_ = ['./mask_lora_potsdam.py']
__source_dataset = dict(type='LoveDADataset')
data_root = 'data/loveDA'
__data = dict(data_root=data_root, source_dataset=__source_dataset,
              crop_size=(512, 512))
model = dict(source_dataset=__source_dataset)
train_dataloader = dict(dataset=__data)
val_dataloader = dict(dataset=__data)
test_dataloader = val_dataloader
