"""CE and L_prop on decoded x0 masks: gradient where it matters, scale,
ignore pixels, x0 bounds, and the per-term gradient norms in the log."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmseg.registry import MODELS
from dldm_mmseg.models.generators.guidance import (
    guidance_loss, prompt_targets)
from dldm_mmseg.utils.palette import index_to_rgb
from fixtures import POTSDAM_PALETTE


@pytest.fixture(scope='module')
def model():
    return MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                             source_dataset='PotsdamDataset',
                             components=dict(preset='tiny')))


def rendered(labels):
    """Labels -> decoded-mask-like tensor in [-1, 1] (exact colours)."""
    rgb = torch.from_numpy(index_to_rgb(labels, POTSDAM_PALETTE))
    return rgb.permute(0, 3, 1, 2).float() / 127.5 - 1


def test_confidently_wrong_pixels_get_ce_and_prop_gradient(model):
    label = torch.zeros(1, 8, 8, dtype=torch.long)  # all impervious
    drawn = np.ones((1, 8, 8), np.uint8)             # all building
    rgb = rendered(drawn).requires_grad_(True)
    target = torch.tensor([[1.0, 0, 0, 0, 0, 0]])
    ce, prop = model.x0_mask_losses(rgb, label, target)
    ce_grad, = torch.autograd.grad(ce.sum(), rgb, retain_graph=True)
    prop_grad, = torch.autograd.grad(prop.sum(), rgb)
    # the former log(clamp(softmax, 1e-8)) at temperature 0.05 gave 0 and
    # the soft shares ~1e-16 here
    assert ce_grad.abs().max() > 0.01
    assert prop_grad.abs().max() > 1e-5
    assert float(ce) > 1.0


def test_prop_is_the_l1_distance_of_soft_or_hard_shares(model):
    drawn = np.zeros((1, 10, 10), np.uint8)
    drawn[:, :, 7:] = 4          # 70% impervious, 30% car
    label = torch.from_numpy(drawn.astype(np.int64))
    target = torch.tensor([[0.5, 0.2, 0, 0, 0.3, 0]])
    rgb = rendered(drawn).requires_grad_(True)
    # default (the paper's): soft shares, summed over classes; each pixel
    # on its colour keeps ~5% of its mass on the other colours
    assert model.prop_estimator == 'soft'
    _, soft = model.x0_mask_losses(rgb, label, target)
    assert 0.4 < float(soft) < 0.6
    soft_grad, = torch.autograd.grad(soft.sum(), rgb)
    # straight-through: the value is that of the hard shares
    # (|0.7-0.5| + |0-0.2| = 0.4), the gradient the soft one's
    model.prop_estimator = 'straight_through'
    try:
        _, hard = model.x0_mask_losses(rgb, label, target)
    finally:  # the module-scoped model keeps its default
        model.prop_estimator = 'soft'
    assert float(hard) == pytest.approx(0.4, abs=1e-5)
    assert float(soft) > float(hard) + 0.003  # soft mass off the colours
    hard_grad, = torch.autograd.grad(hard.sum(), rgb)
    assert hard_grad.abs().max() > 1e-4 and not torch.allclose(
        hard_grad, soft_grad)


def test_calibrated_prop_is_zero_for_a_perfect_mask_and_soft_is_not(
        model):
    drawn = np.zeros((1, 10, 10), np.uint8)
    drawn[:, :, 9:] = 4          # 90% impervious, 10% car: as the prompt
    label = torch.from_numpy(drawn.astype(np.int64))
    target = torch.tensor([[0.9, 0, 0, 0, 0.1, 0]])
    rgb = rendered(drawn).requires_grad_(True)
    _, soft = model.x0_mask_losses(rgb, label, target)
    soft_grad, = torch.autograd.grad(soft.sum(), rgb)
    model.prop_estimator = 'calibrated'
    try:
        _, calibrated = model.x0_mask_losses(rgb, label, target)
        _, off = model.x0_mask_losses(rgb, label, torch.tensor(
            [[0.7, 0, 0, 0, 0.3, 0]]))
    finally:  # the module-scoped model keeps its default
        model.prop_estimator = 'soft'
    # soft shares read the 10% car as more (mass leaks from impervious) and
    # so ask the perfect mask for less car; calibrated asks for nothing
    assert float(soft) > 0.05
    car = soft_grad[0, :, :, 9:].abs().sum()
    assert car > 1e-4
    assert float(calibrated) == pytest.approx(0, abs=1e-5)
    # and it still measures a real error, near the hard L1 of 0.4
    assert 0.25 < float(off) < 0.45


@pytest.mark.parametrize('estimator', ['soft', 'straight_through',
                                       'calibrated'])
def test_ignore_label_pixels_are_left_out_and_drawn_ignore_is_an_error(
        model, estimator):
    drawn = np.zeros((1, 8, 8), np.uint8)
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[:, :4] = 255                         # boundary in the label
    drawn[:, :4] = 1                           # anything may be drawn there
    target = torch.tensor([[1.0, 0, 0, 0, 0, 0]])
    drawn_ignore = drawn.copy()
    drawn_ignore[:, 4:6] = 255                 # black where the label is 0
    model.prop_estimator = estimator
    try:
        ce, prop = model.x0_mask_losses(rendered(drawn), label, target)
        ce2, prop2 = model.x0_mask_losses(rendered(drawn_ignore), label,
                                          target)
    finally:  # the module-scoped model keeps its default
        model.prop_estimator = 'soft'
    assert float(ce) < 0.05
    assert float(ce2) > 1.0
    if estimator != 'soft':  # exact for a perfect mask
        assert float(prop) == pytest.approx(0, abs=1e-5)
    if estimator == 'straight_through':  # hard shares: exact
        assert float(prop2) == pytest.approx(0.5, abs=1e-5)  # half lost
    else:  # soft shares keep ~5% of each pixel on the other colours
        assert float(prop) < 0.1
        assert float(prop2) - float(prop) > 0.35


def test_x0_is_bounded_at_high_noise(model):
    latents = torch.randn(2, 4, 4, 4)
    noisy = torch.randn_like(latents) * 3
    wrong = -torch.randn_like(latents) * 3   # a poor noise prediction
    t = torch.tensor([999, 999])
    x0 = model.predict_x0(noisy, wrong, t)
    assert x0.abs().max() <= model.x0_clip
    model.x0_clip = None
    try:
        assert model.predict_x0(noisy, wrong, t).abs().max() > 20
    finally:
        model.x0_clip = 10.0


def test_grad_norm_of_each_term_is_logged_every_interval(model):
    model.grad_norm_interval = 2
    model._train_steps = 0
    labels = np.zeros((2, 16, 16), np.uint8)
    labels[:, 8:] = 1
    data = dict(mask=rendered(labels),
                label=torch.from_numpy(labels.astype(np.int64)),
                prompt=['impervious surface: 50%, building: 50%'] * 2,
                target_shares=torch.tensor([[.5, .5, 0, 0, 0, 0]] * 2))
    model.x0_max_timestep = None
    model.x0_weighting = 'none'  # every sample gets x0 terms
    wrapper = OptimWrapper(torch.optim.SGD(
        model.trainable_parameters().values(), lr=0.0))
    first = model.train_step(data, wrapper)
    second = model.train_step(data, wrapper)
    for term in ('diffusion', 'ce', 'prop'):
        assert float(first[f'grad_norm_{term}']) > 0
        assert f'grad_norm_{term}' not in second
    model.x0_weighting = 'alphas_cumprod'


def test_proportion_guidance_off_is_identical_and_on_lowers_l_prop():
    from mmseg.registry import MODELS
    import numpy as np
    model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny')))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a random but non-trivial adapter
        for p in model.trainable_parameters().values():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.2)
    prompts = ['building: 70%, tree: 30%', 'car: 50%, clutter: 50%',
               'an aerial image']  # the last has no shares: not guided
    kwargs = dict(height=32, width=32, steps=4, guidance_scale=2.0)
    plain = model.generate_masks(prompts, [1, 2, 3], **kwargs)
    zero = model.generate_masks(prompts, [1, 2, 3], prop_guidance=dict(
        scale=0.0), **kwargs)
    assert np.array_equal(plain['rgb'], zero['rgb'])
    guided = model.generate_masks(prompts, [1, 2, 3], prop_guidance=dict(
        scale=50.0, max_timestep=1000), **kwargs)
    targets = prompt_targets(prompts, model.classes)
    assert torch.isnan(targets[2]).all()

    def l_prop(out):
        rgb = torch.from_numpy(out['rgb']).permute(0, 3, 1, 2).float()
        return guidance_loss(model.mask_logits(rgb / 127.5 - 1), targets)

    before, after = l_prop(plain), l_prop(guided)
    assert (after[:2] < before[:2]).all(), (before, after)
    assert np.array_equal(plain['rgb'][2], guided['rgb'][2]) or \
        np.abs(plain['rgb'][2].astype(int) - guided['rgb'][2]).max() <= 1
    # the UNet is itself again afterwards
    again = model.generate_masks(prompts, [1, 2, 3], **kwargs)
    assert np.array_equal(plain['rgb'], again['rgb'])


def test_ce_class_weight_makes_a_class_pixels_count_more(model):
    from dldm_mmseg.models.losses.mask_losses import mask_ce_and_prop
    # half the pixels right (class 0), half wrong (label car, drawn 0)
    label = torch.zeros(1, 4, 4, dtype=torch.long)
    label[:, 2:] = 4
    logits = torch.zeros(1, 7, 4, 4)
    logits[:, 0] = 5.0  # every pixel drawn as class 0
    args = (logits, label, torch.zeros(1, 6), model.prop_loss)
    plain, _ = mask_ce_and_prop(*args)
    weights = torch.tensor([1.0, 1, 1, 1, 3, 1])
    weighted, _ = mask_ce_and_prop(*args, class_weight=weights)
    # the weighted mean over pixels: the wrong car pixels count 3 times
    right = -torch.log_softmax(logits[0, :, 0, 0], 0)[0]
    wrong = -torch.log_softmax(logits[0, :, 0, 0], 0)[4]
    assert float(plain) == pytest.approx(float((right + wrong) / 2))
    assert float(weighted) == pytest.approx(float((right + 3 * wrong) / 4))
    # equal weights give the unweighted CE; ignore pixels stay out
    label[:, 0] = 255
    unweighted, _ = mask_ce_and_prop(logits, label, torch.zeros(1, 6),
                                     model.prop_loss)
    ones, _ = mask_ce_and_prop(logits, label, torch.zeros(1, 6),
                               model.prop_loss,
                               class_weight=torch.ones(6))
    assert float(ones) == pytest.approx(float(unweighted))


def test_ce_class_weight_is_checked_and_used_by_the_model():
    built = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny'),
                              ce_class_weight=[1, 1, 1, 1, 4, 1]))
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[:, 4:] = 4
    drawn = np.zeros((1, 8, 8), np.uint8)  # car drawn as impervious
    target = torch.zeros(1, 6)
    ce, _ = built.x0_mask_losses(rendered(drawn), label, target)
    built.ce_class_weight = None
    plain, _ = built.x0_mask_losses(rendered(drawn), label, target)
    assert float(ce) > 1.3 * float(plain)
    with pytest.raises(ValueError, match=r'one weight > 0 per class \(6\)'):
        MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                          source_dataset='PotsdamDataset',
                          components=dict(preset='tiny'),
                          ce_class_weight=[1, 2]))
