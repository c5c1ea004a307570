# DeepLabV3+ R50-D8 on ISPRS Potsdam with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = ['./_base_/deeplabv3plus_potsdam_real.py']
