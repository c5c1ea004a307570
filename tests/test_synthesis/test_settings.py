"""SynthesisSettings: every setting typed (nested ones too) and classified
for the set's identity; a setting enters a set's fingerprint away from its
default only, a nested one as its config gave it; bad settings are
named."""
import dataclasses
import inspect
from dataclasses import dataclass

import pytest

from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.synthesis.settings import (DERIVED, SPEED, VALUE,
                                           ConsistencySettings,
                                           RejectSettings, SamplingSettings,
                                           SegGuidanceSettings,
                                           ShareSettings, SynthesisSettings,
                                           _setting)
from dldm_mmseg.synthesis.share_sampler import TargetShareSampler

CFG = dict(source_dataset='PotsdamDataset', size=64, base_seed=3,
           mask_sampling=dict(steps=20), reject=dict(max_cpe=10),
           real_captions=dict(data_root='real'))

#: a changed value for every VALUE setting
CHANGED = dict(shares=dict(mode='fixed', fixed_shares=[1, 0, 0, 0, 0, 0]),
               mask_prompt='shares', image_prompt='caption', size=32,
               base_seed=4, masks='real', mask_sampling=dict(steps=5),
               image_sampling=dict(steps=5), cleanup_min_neighbours=2,
               reject=dict(max_cpe=3), consistency=dict(config='x.py'),
               seg_guidance=dict(config='x.py', checkpoint='x.pth',
                                 scale=1.0), dtype='bf16')


def fields_by(kind):
    return {f.name for f in dataclasses.fields(SynthesisSettings)
            if f.metadata.get('identity') == kind}


def test_every_setting_is_classified_and_value_ones_change_identity():
    names = {f.name for f in dataclasses.fields(SynthesisSettings)}
    assert names == fields_by(VALUE) | fields_by(DERIVED) | fields_by(SPEED)
    assert fields_by(SPEED) == {'channels_last', 'compile'}
    assert set(CHANGED) == fields_by(VALUE)  # a new one needs a case here
    base = SynthesisSettings.from_config(CFG).identity_values()
    for name, value in CHANGED.items():
        other = SynthesisSettings.from_config(dict(CFG, **{name: value}))
        assert other.identity_values() != base, name
    for name, value in (('channels_last', False), ('compile', True)):
        other = SynthesisSettings.from_config(dict(CFG, **{name: value}))
        assert other.identity_values() == base, name


def test_identity_holds_the_value_settings_away_from_their_defaults():
    values = SynthesisSettings.from_config(CFG).identity_values()
    assert values == dict(size=64, base_seed=3, mask_sampling=dict(steps=20),
                          reject=dict(max_cpe=10, max_tries=3))
    # a default spelled out is the default
    assert SynthesisSettings.from_config(dict(
        CFG, size=512, mask_prompt='shares+caption')).identity_values() == \
        {k: v for k, v in values.items() if k != 'size'}


def test_a_new_setting_enters_identity_only_away_from_its_default():
    @dataclass
    class Extended(SynthesisSettings):
        new_option: int = _setting(3)

    base = SynthesisSettings.from_config(CFG).identity_values()
    assert Extended.from_config(CFG).identity_values() == base
    assert Extended.from_config(dict(CFG, new_option=3)).identity_values() \
        == base
    assert Extended.from_config(dict(CFG, new_option=4)).identity_values() \
        == dict(base, new_option=4)


def test_defaults_and_resolved_values():
    s = SynthesisSettings.from_config(dict(source_dataset='PotsdamDataset'))
    assert (s.size, s.base_seed, s.batch_size, s.batching) == \
        (512, 0, 8, 'aligned')
    assert s.reject == RejectSettings(max_cpe=None, max_tries=3)
    assert s.share_mode == 'real'
    typed = SynthesisSettings.from_config(CFG).reject
    assert (typed.max_cpe, typed.max_tries) == (10, 3)


@pytest.mark.parametrize('change, message', [
    (dict(batchsize=4), r"unknown setting\(s\) \['batchsize'\].*'batch_size'"),
    (dict(batch_size=0), 'batch_size must be an integer >= 1, got 0'),
    (dict(size='512'), "size must be an integer >= 1, got '512'"),
    (dict(base_seed=1.5), 'base_seed must be an integer, got 1.5'),
    (dict(batching='fast'), "batching must be one of .*got 'fast'"),
    (dict(deterministic=True), r"unknown setting\(s\) \['deterministic'\]"),
    (dict(mask_prompt='prompt'), "mask_prompt must be one of .*'prompt'"),
    (dict(reject=dict(max_tries=0)), 'max_tries must be an integer >= 1'),
    (dict(reject=dict(max_cep=3)), r"reject has unknown setting\(s\) "
     r"\['max_cep'\]"),
    (dict(dtype='fp8'), "dtype must be fp32, fp16 or bf16, got 'fp8'"),
    (dict(cleanup_min_neighbours=-1), 'cleanup_min_neighbours must be an '
     'integer >= 0'),
    (dict(shares=dict(rarity=0.5)), r"shares has unknown setting\(s\) "
     r"\['rarity'\].*'rarity_exponent'"),
    (dict(mask_sampling=dict(step=5)), r"mask_sampling has unknown setting"),
    (dict(image_sampling=dict(prop_guidance={})),
     r"image_sampling has unknown setting\(s\) \['prop_guidance'\]"),
    (dict(shares=['car']), "shares must be a dict of settings"),
    (dict(consistency=dict(checkpoint='x.pth')), 'consistency needs config'),
    (dict(seg_guidance=dict(config='x.py', scale=1.0)),
     r"seg_guidance needs \['checkpoint'\]"),
    (dict(seg_guidance=dict(config='x.py', checkpoint='x.pth', scale=1.0,
                            timesteps=[500, 100])),
     'seg_guidance.timesteps'),
    (dict(seg_guidance=dict(config='x.py', checkpoint='x.pth', scale=1.0,
                            timesteps=700)),
     r'seg_guidance.timesteps must be \(low, high\): two integers, got 700'),
])
def test_bad_settings_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        SynthesisSettings.from_config(dict(CFG, **change))


def test_real_shares_without_real_captions_is_named():
    from dldm_mmseg.synthesis.engine import SynthesisEngine
    with pytest.raises(ValueError, match="shares.mode='real'.*set "
                       'synthesis.real_captions'):
        SynthesisEngine(dict(source_dataset='PotsdamDataset'), device='cpu')


def test_nested_settings_are_typed_and_fingerprinted_as_given():
    given = dict(mode='real', rarity_exponent=0.5,
                 min_shares=dict(car=0.02))
    s = SynthesisSettings.from_config(dict(
        CFG, shares=given, image_sampling=dict(steps=7),
        consistency=dict(config='x.py', checkpoint='x.pth',
                         rule='class_loss'),
        seg_guidance=dict(config='x.py', checkpoint='x.pth', scale=0.5)))
    assert isinstance(s.shares, ShareSettings)
    assert (s.shares.rarity_exponent, s.shares.presence) == (0.5, 0.005)
    assert isinstance(s.consistency, ConsistencySettings)
    assert (s.consistency.rule, s.consistency.loss_multiple) == \
        ('class_loss', 2.0)
    assert s.seg_guidance.timesteps == (600, 1000)
    assert s.mask_sampling.kwargs() == dict(steps=20)  # given keys only
    assert isinstance(s.image_sampling, SamplingSettings)
    values = s.identity_values()
    # the dicts as the config wrote them: the fingerprint of a set made
    # before the settings were typed
    assert values['shares'] == given
    # the class-loss rule names how its class means were measured: sets
    # filtered with the first real pairs by name (before the setting) are
    # told apart from sets filtered with pairs holding every class
    assert values['consistency'] == dict(config='x.py', checkpoint='x.pth',
                                         rule='class_loss',
                                         min_class_pixels=1024)
    # filtering some classes only is another set
    some = SynthesisSettings.from_config(dict(CFG, consistency=dict(
        config='x.py', checkpoint='x.pth', rule='class_loss',
        filter_classes=['car'])))
    assert some.consistency.kwargs()['filter_classes'] == ['car']
    assert some.identity_values()['consistency'] == dict(
        values['consistency'], filter_classes=['car'])
    # a share of the draws kept free of some classes is another set, and
    # reaches the share sampler
    free = SynthesisSettings.from_config(dict(CFG, shares=dict(
        given, absent_classes=['car'], absent_share=0.3)))
    assert (free.shares.kwargs()['absent_classes'],
            free.shares.kwargs()['absent_share']) == (['car'], 0.3)
    assert free.identity_values()['shares'] == dict(
        given, absent_classes=['car'], absent_share=0.3)
    assert 'min_class_pixels' not in SynthesisSettings.from_config(dict(
        CFG, consistency=dict(config='x.py'))).identity_values()[
            'consistency']
    with pytest.raises(ValueError, match="real_split='test'"):
        SynthesisSettings.from_config(dict(CFG, consistency=dict(
            config='x.py', rule='class_loss', real_split='test')))
    assert values['image_sampling'] == dict(steps=7)
    assert 'shares' not in SynthesisSettings.from_config(
        CFG).identity_values()
    assert isinstance(s.seg_guidance, SegGuidanceSettings)
    # an empty shares dict was its own fingerprint before the settings
    # were typed (its default was None); empty sampling dicts were not
    empty = SynthesisSettings.from_config(dict(
        CFG, shares={}, image_sampling={})).identity_values()
    assert empty['shares'] == {} and 'image_sampling' not in empty
    # settings built as objects enter as their values
    fixed = ShareSettings(mode='fixed', fixed_shares=[1, 0, 0, 0, 0, 0])
    built = SynthesisSettings.from_config(dict(CFG, shares=fixed))
    assert built.identity_values()['shares'] == dict(
        mode='fixed', fixed_shares=[1, 0, 0, 0, 0, 0])
    assert SamplingSettings(steps=5).kwargs() == dict(steps=5)
    with pytest.raises(ValueError, match='needs'):
        SegGuidanceSettings(config='x.py')


INTERNAL = {'self', 'class_names', 'real_shares', 'captions', 'pixel_counts',
            'patch_ids', 'seed', 'device', 'model'}


@pytest.mark.parametrize('settings, consumer', [
    (ShareSettings, TargetShareSampler), (ConsistencySettings,
                                          ConsistencyChecker)])
def test_nested_defaults_are_their_consumers(settings, consumer):
    """A nested setting's default is the one of the class it is passed
    to, so a setting left out means the same as before it was typed."""
    parameters = inspect.signature(consumer.__init__).parameters
    names = {f.name for f in dataclasses.fields(settings)} - {'given'}
    assert names == set(parameters) - INTERNAL
    for f in dataclasses.fields(settings):
        if f.name == 'given':
            continue
        default = parameters[f.name].default
        if default is not inspect.Parameter.empty:  # not a required one
            assert default == f.default, f.name
