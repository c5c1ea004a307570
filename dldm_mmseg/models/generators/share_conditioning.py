"""Numeric share conditioning of the mask generator: the target class-share
vector, embedded by a small MLP and added to the UNet's timestep embedding
(diffusers' ``class_embed_type='projection'``), beside the text prompt.

The embedding's input is the share vector (``C`` values over the valid
pixels, summing to 1) followed by a null flag: a sample whose shares are
dropped (classifier-free guidance) gets ``[0, ..., 0, 1]``, so the
unconditional embedding is learnt like the empty prompt's."""
import contextlib
import json
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

#: file of the share embedding in a LoRA export, beside the LoRA weights
SHARE_EMBEDDING_FILE = 'share_embedding.safetensors'
#: absolute tolerance on the sum of a share vector
SUM_TOLERANCE = 0.02


def share_dropout(options: dict) -> float:
    """The probability of the null shares in training, from a generator's
    ``share_conditioning`` options (``dropout``, default 0.1).

    Raises:
        ValueError: On an unknown option or a dropout outside [0, 1).
    """
    settings = dict(dropout=0.1)
    unknown = set(options) - set(settings)
    if unknown:
        raise ValueError(f'share_conditioning takes {sorted(settings)}, got '
                         f'{sorted(unknown)}')
    settings.update(options)
    if not 0 <= settings['dropout'] < 1:
        raise ValueError(f'share_conditioning.dropout must be in [0, 1), '
                         f'got {settings["dropout"]}')
    return float(settings['dropout'])


def add_share_embedding(unet: nn.Module, num_classes: int) -> nn.Module:
    """Give ``unet`` a projection class embedding for ``num_classes``
    shares plus the null flag, with a zero-initialised output layer (the
    UNet's output is unchanged until it trains), and record it in the
    UNet's config so a saved UNet rebuilds it
    (``UNet2DConditionModel.from_pretrained``).

    Returns:
        nn.Module: The embedding (trainable).

    Raises:
        ValueError: When the UNet already has a class embedding.
    """
    from diffusers.models.embeddings import TimestepEmbedding
    if getattr(unet, 'class_embedding', None) is not None:
        raise ValueError(
            f'the UNet already has a class embedding '
            f'({unet.config.class_embed_type!r}); numeric share '
            'conditioning needs a UNet without one')
    time_embed_dim = unet.time_embedding.linear_2.out_features
    embedding = TimestepEmbedding(num_classes + 1, time_embed_dim)
    nn.init.zeros_(embedding.linear_2.weight)
    nn.init.zeros_(embedding.linear_2.bias)
    parameter = next(unet.parameters())
    unet.class_embedding = embedding.to(parameter.device)
    unet.register_to_config(
        class_embed_type='projection',
        projection_class_embeddings_input_dim=num_classes + 1)
    embedding.requires_grad_(True)
    return embedding


def embedding_dtype(unet: nn.Module) -> torch.dtype:
    """The dtype the share embedding computes in."""
    return unet.class_embedding.linear_1.weight.dtype


def share_inputs(shares: torch.Tensor,
                 keep: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``N x (C + 1)`` embedding inputs: the shares and a 0 flag where
    ``keep`` (default: all), the null ``[0, ..., 0, 1]`` elsewhere."""
    shares = shares.float()
    if keep is None:
        keep = torch.ones(shares.shape[0], dtype=torch.bool,
                          device=shares.device)
    keep = keep.to(shares.device, torch.bool)
    flag = (~keep).float()[:, None]
    return torch.cat([shares * keep.float()[:, None], flag], dim=1)


def training_share_labels(shares: torch.Tensor, prompts: Sequence[str],
                          dropout: float, module: nn.Module,
                          device) -> torch.Tensor:
    """``class_labels`` of a training batch for ``module`` (a UNet or
    ControlNet with a share embedding), in its embedding's dtype on
    ``device``: each sample's ``N x C`` shares, or the null at the
    ``dropout`` rate, where the dataset dropped the prompt (so guidance
    drops text and shares together), and for a patch without labelled
    pixels (all shares 0, as :func:`measured_rows` gives it)."""
    shares = shares.to(device)
    keep = (torch.rand(shares.shape[0], device=device) >= dropout) & \
        torch.tensor([bool(p) for p in prompts], device=device) & \
        (shares.sum(1) > 0)
    return share_inputs(shares, keep).to(embedding_dtype(module))


def check_share_vectors(shares, prompts: Sequence[str],
                        classes: Sequence[str]) -> np.ndarray:
    """Validate target share vectors for numeric conditioning.

    Args:
        shares: ``N x C`` shares; a row of NaN means no share condition
            (the null embedding).
        prompts: The ``N`` prompts, named in errors.
        classes: The ``C`` class names.

    Returns:
        np.ndarray: ``N x C`` float32 shares.

    Raises:
        ValueError: A row of the wrong length, with negative values, or not
            summing to 1, naming its prompt.
    """
    rows = [np.asarray(row, dtype=np.float32).reshape(-1) for row in shares]
    if len(rows) != len(prompts):
        raise ValueError(f'{len(rows)} share vectors for {len(prompts)} '
                         'prompts')
    for row, prompt in zip(rows, prompts):
        if row.size != len(classes):
            raise ValueError(
                f'the share vector of prompt {prompt!r} has {row.size} '
                f'values; the generator has {len(classes)} classes '
                f'({", ".join(classes)})')
        if np.isnan(row).all():
            continue
        if not np.isfinite(row).all() or (row < 0).any():
            raise ValueError(f'the share vector {row.tolist()} of prompt '
                             f'{prompt!r} has negative or missing values')
        if abs(float(row.sum()) - 1) > SUM_TOLERANCE:
            raise ValueError(
                f'the share vector of prompt {prompt!r} sums to '
                f'{float(row.sum()):.3f}, not 1: numeric conditioning needs '
                'the share of every class (0 for absent ones); state all '
                'classes in the prompt or pass class_shares')
    return np.stack(rows) if rows else np.zeros((0, len(classes)),
                                                np.float32)


def measured_rows(shares) -> np.ndarray:
    """Measured shares of real patches as conditioning rows: a patch with
    no labelled pixel (all shares 0) gets NaN, the null condition."""
    rows = torch.as_tensor(shares).detach().float().cpu().numpy().copy()
    rows[rows.sum(1) == 0] = np.nan
    return rows


def inputs_of_rows(shares: np.ndarray, device) -> torch.Tensor:
    """Embedding inputs of checked share rows (NaN rows -> the null)."""
    shares = torch.as_tensor(shares, dtype=torch.float32)
    keep = ~shares.isnan().any(1)
    return share_inputs(shares.nan_to_num(0), keep).to(device)


@contextlib.contextmanager
def unet_share_labels(unet: nn.Module, inputs: torch.Tensor):
    """Feed share embedding inputs to every UNet call of a pipeline (stock
    pipelines do not pass ``class_labels``).

    Under classifier-free guidance the UNet sees ``[unconditional,
    conditional]`` copies of the batch: the unconditional copy gets the
    null shares, so ``guidance_scale`` applies to text and shares
    together.

    Args:
        unet: The UNet, with a share embedding.
        inputs: ``N x (C + 1)`` inputs of all samples (:func:`share_inputs`).

    Yields:
        callable: Give it each batch's slice of the samples (``on_batch``).
    """
    original = unet.forward
    current = {}
    null = share_inputs(torch.zeros(1, inputs.shape[1] - 1),
                        torch.zeros(1, dtype=torch.bool))

    def aim(part):
        current['inputs'] = inputs[part]

    def forward(sample, timestep, *args, **kwargs):
        if kwargs.get('class_labels') is None:
            batch = current['inputs']
            copies = sample.shape[0] // batch.shape[0]
            labels = torch.cat([null.to(batch).expand(batch.shape[0], -1)] *
                               (copies - 1) + [batch])
            # the embedding's own dtype: synthesis casts the whole
            # generator to fp16, training keeps it fp32
            kwargs['class_labels'] = labels.to(sample.device,
                                               embedding_dtype(unet))
        return original(sample, timestep, *args, **kwargs)

    unet.forward = forward
    try:
        yield aim
    finally:
        unet.forward = original


def export_share_embedding(unet: nn.Module, classes: Sequence[str],
                           out_dir: str) -> None:
    """Write the share embedding of a LoRA-tuned UNet beside its LoRA
    weights (a full fine-tune's ``unet/`` folder holds it already)."""
    from safetensors.torch import save_file
    state = {k: v.detach().float().contiguous().cpu()
             for k, v in unet.class_embedding.state_dict().items()}
    save_file(state, osp.join(out_dir, SHARE_EMBEDDING_FILE),
              metadata=dict(classes=json.dumps(list(classes))))


def load_share_embedding(unet: nn.Module, classes: Sequence[str],
                         path: str) -> None:
    """Load :func:`export_share_embedding`'s file from export ``path``.

    Raises:
        FileNotFoundError: When the export has no share embedding.
        ValueError: When it was trained for other classes.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file
    weights = osp.join(path, SHARE_EMBEDDING_FILE)
    if not osp.isfile(weights):
        raise FileNotFoundError(
            f'{weights} does not exist: the export {path} was trained '
            'without numeric share conditioning; set share_conditioning='
            'None in the config, or train with it')
    with safe_open(weights, framework='pt') as f:
        stored = json.loads((f.metadata() or {}).get('classes', '[]'))
    if stored != list(classes):
        raise ValueError(f'{weights} was trained for the classes {stored}, '
                         f'this model has {list(classes)}')
    unet.class_embedding.load_state_dict(load_file(weights))
