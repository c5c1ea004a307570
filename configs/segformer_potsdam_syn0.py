# SegFormer MiT-B0 on ISPRS Potsdam with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = ['./_base_/segformer_potsdam_real.py']
