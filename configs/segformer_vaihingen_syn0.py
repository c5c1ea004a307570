# SegFormer MiT-B0 on ISPRS Vaihingen with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = ['./_base_/segformer_vaihingen_real.py']
