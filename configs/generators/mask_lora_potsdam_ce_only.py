# The paper's ablation (Table 2): stage 1 without the proportion-aware loss.
_base_ = ['./mask_lora_potsdam_paper.py']
model = dict(prop_weight=0.0)
