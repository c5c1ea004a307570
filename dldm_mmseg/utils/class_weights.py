"""Per-pixel loss weights that keep a rare class from being a rare part
of the loss (the image VAE's and stage 2's ``class_balance``)."""
import torch


def class_balanced_weights(labels: torch.Tensor, num_classes: int,
                           power: float) -> torch.Tensor:
    """Per-pixel weights ``freq(class) ** -power`` over the batch's valid
    pixels, scaled to mean 1; ignore pixels get weight 1."""
    weights = torch.ones(labels.shape, dtype=torch.float32,
                         device=labels.device)
    if power == 0:
        return weights
    valid = labels != 255
    counts = torch.bincount(labels[valid], minlength=num_classes).float()
    per_class = (counts / counts.sum().clamp_min(1)).clamp_min(1e-6) ** -power
    weights[valid] = per_class[labels[valid]]
    weights[valid] /= weights[valid].mean()
    return weights
