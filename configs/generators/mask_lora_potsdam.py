# Stage 1 on Potsdam, the project's default: the paper's stage 1
# (mask_lora_potsdam_paper.py) with the target share vector also fed to the
# UNet (numeric share conditioning: an MLP added to the timestep embedding,
# trained beside the LoRA and exported with it), CE on the decoded x0
# without L_prop. How it was chosen: docs/generators.md#choosing-stage-1.
_base_ = ['./mask_lora_potsdam_paper.py']
model = dict(share_conditioning=dict(dropout=0.1), prop_weight=0.0)
