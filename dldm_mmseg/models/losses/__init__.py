from .mask_losses import PROP_ESTIMATORS, mask_ce_and_prop
from .proportion_aware_loss import (ProportionAwareLoss, label_class_shares,
                                    predicted_class_shares)

__all__ = ['ProportionAwareLoss', 'predicted_class_shares',
           'label_class_shares', 'mask_ce_and_prop', 'PROP_ESTIMATORS']
