"""The settings of a synthesis run (the ``synthesis`` dict of a synth
config): typed, with their defaults in one place, checked once, and each
marked with how it enters the set's identity, so that a new setting cannot
escape the "another configuration" check of a resumed or extended set."""
import dataclasses
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Union

from dldm_mmseg.evaluation.consistency import check_real_split
from dldm_mmseg.models.generators.guidance import (SEG_GUIDANCE_TIMESTEPS,
                                                   guidance_timesteps)

#: How a setting enters :meth:`SynthesisSettings.identity_values`:
#: ``VALUE``: its value; ``DERIVED``: through a hash or a resolved value
#: that ``SynthesisEngine.identity`` computes (weights, captions, source
#: classes, batching); ``SPEED``: not at all, it changes how fast the same
#: files are written.
VALUE, DERIVED, SPEED = 'value', 'derived', 'speed'

BATCHING_MODES = ('aligned', 'one_at_a_time', 'free')
MASK_SOURCES = ('generated', 'real')


@dataclass(frozen=True)
class RejectSettings:
    """Proportion enforcement: masks whose shares miss their targets by
    more than ``max_cpe`` (mean over classes, percent) are drawn again
    with other seeds, the best of ``max_tries`` kept. ``max_cpe=None``
    turns it off."""

    max_cpe: Optional[float] = None
    max_tries: int = 3

    @classmethod
    def from_config(cls, cfg: Optional[dict]) -> 'RejectSettings':
        """From ``synthesis.reject`` (None: off).

        Raises:
            ValueError: On an unknown key, naming the known ones.
        """
        cfg = dict(cfg or {})
        check_known_keys(cls, cfg, 'synthesis.reject')
        return cls(**cfg)


def check_known_keys(cls, cfg: dict, where: str) -> None:
    """Refuse a key of ``cfg`` that is not a field of the dataclass
    ``cls``.

    Raises:
        ValueError: Naming the unknown keys and the known ones.
    """
    names = [f.name for f in dataclasses.fields(cls) if f.name != 'given']
    unknown = sorted(set(cfg) - set(names))
    if unknown:
        raise ValueError(f'{where} has unknown setting(s) {unknown}; the '
                         f'settings are {names} (see {cls.__name__} in '
                         'dldm_mmseg/synthesis/settings.py)')


@dataclass(frozen=True)
class NestedSettings:
    """A nested dict of the ``synthesis`` config, typed and checked.

    :meth:`from_config` keeps the dict as the config gave it (``given``;
    None when it gave none): a set's fingerprint holds the settings given,
    as written, and those set away from their defaults, so a set made
    before the settings were typed keeps its fingerprint.
    """

    #: where the dict sits in the config, for messages
    where = 'synthesis'
    #: whether an empty dict is the same set as no dict
    empty_is_default = True

    def __post_init__(self):
        self.validate()

    @classmethod
    def from_config(cls, cfg):
        """From the config's dict (an instance is returned as it is).

        Raises:
            ValueError: On a value that is not a dict, an unknown key
                (naming the known ones) or a bad value.
        """
        if isinstance(cfg, cls):
            return cfg
        if cfg is not None and not isinstance(cfg, Mapping):
            raise ValueError(f'{cls.where} must be a dict of settings, got '
                             f'{cfg!r}')
        given = None if cfg is None else dict(cfg)
        check_known_keys(cls, given or {}, cls.where)
        return cls(**(given or {}), given=given)

    def validate(self) -> None:
        """Check the values (nothing by default)."""

    def set_keys(self) -> list:
        """The settings the config gave or that differ from their
        defaults."""
        given = self.given or {}
        return [f.name for f in dataclasses.fields(self)
                if f.name != 'given' and (f.name in given or
                                          getattr(self, f.name) != f.default)]

    def identity_value(self) -> Optional[dict]:
        """What a set's fingerprint holds of this setting: the settings of
        :meth:`set_keys` (as the config wrote them where they still hold),
        or None when there are none."""
        given = self.given or {}
        value = {key: given[key] if key in given and
                 given[key] == getattr(self, key) else getattr(self, key)
                 for key in self.set_keys()}
        if value or (self.given is not None and not self.empty_is_default):
            return value
        return None

    def kwargs(self) -> dict:
        """Every setting, as keyword arguments of the class it is passed
        to."""
        return {f.name: getattr(self, f.name)
                for f in dataclasses.fields(self) if f.name != 'given'}


def _given():
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ShareSettings(NestedSettings):
    """``synthesis.shares``: how target shares are drawn, the arguments
    of :class:`~dldm_mmseg.synthesis.share_sampler.TargetShareSampler`
    (``mode='real'``: the shares and captions of real patches)."""

    where = 'synthesis.shares'
    empty_is_default = False
    mode: str = 'real'
    rarity_exponent: float = 0.0
    min_shares: Optional[Dict[str, float]] = None
    fixed_shares: Any = None
    presence: float = 0.005
    user_shares: Optional[Dict[str, float]] = None
    weak_classes: Any = None
    patch_hardness: Any = None
    hardness_exponent: float = 1.0
    absent_classes: Optional[List[str]] = None
    absent_share: Optional[float] = None
    given: Optional[dict] = _given()


@dataclass(frozen=True)
class SamplingSettings(NestedSettings):
    """The sampling arguments both stages take (None: the generator's
    ``inference_cfg``)."""

    steps: Optional[int] = None
    guidance_scale: Optional[float] = None
    scheduler: Optional[str] = None
    given: Optional[dict] = _given()

    def kwargs(self) -> dict:
        """The settings given or changed (the generator's defaults
        otherwise)."""
        return {key: getattr(self, key) for key in self.set_keys()}


@dataclass(frozen=True)
class MaskSamplingSettings(SamplingSettings):
    """``synthesis.mask_sampling``: sampling arguments of stage 1's
    ``generate_masks``, with its ``prop_guidance``."""

    where = 'synthesis.mask_sampling'
    prop_guidance: Optional[dict] = None


@dataclass(frozen=True)
class ImageSamplingSettings(SamplingSettings):
    """``synthesis.image_sampling``: sampling arguments of stage 2's
    ``generate_images``, with its ``conditioning_scale``."""

    where = 'synthesis.image_sampling'
    conditioning_scale: float = 1.0


@dataclass(frozen=True)
class ConsistencySettings(NestedSettings):
    """``synthesis.consistency``: the FreeMask-style filter, the arguments
    of :class:`~dldm_mmseg.evaluation.consistency.ConsistencyChecker`."""

    where = 'synthesis.consistency'
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    min_confidence: float = 0.9
    max_disagreement: float = 0.3
    mode: str = 'ignore'
    rule: str = 'confidence'
    loss_multiple: float = 2.0
    real_root: Optional[str] = None
    reduce_zero_label: bool = True
    max_real: int = 64
    min_class_pixels: int = 1024
    real_split: str = 'train'
    filter_classes: Optional[Sequence[str]] = None
    given: Optional[dict] = _given()

    def validate(self) -> None:
        if not self.config:
            raise ValueError('synthesis.consistency needs config (and '
                             'checkpoint): the real-only segmentor that '
                             'judges the synthetic pixels')
        check_real_split(self.real_split)

    def set_keys(self) -> list:
        """As given, and ``min_class_pixels`` under the class-loss rule:
        a set filtered with class means from the first real pairs by name
        (before the setting) is not one filtered with means over pairs
        holding every class."""
        keys = super().set_keys()
        if self.rule == 'class_loss' and 'min_class_pixels' not in keys:
            keys.append('min_class_pixels')
        return keys


@dataclass(frozen=True)
class SegGuidanceSettings(NestedSettings):
    """``synthesis.seg_guidance``: stage 2 steered by a segmentor trained
    on the real set (``config``, ``checkpoint``), at ``scale``, on the
    sampling ``timesteps`` ``(low, high)``."""

    where = 'synthesis.seg_guidance'
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    scale: Optional[float] = None
    timesteps: Sequence[int] = SEG_GUIDANCE_TIMESTEPS
    given: Optional[dict] = _given()

    def validate(self) -> None:
        missing = [k for k in ('config', 'checkpoint', 'scale')
                   if getattr(self, k) is None]
        if missing:
            raise ValueError(f'synthesis.seg_guidance needs {missing} '
                             '(timesteps optional)')
        object.__setattr__(self, 'timesteps', guidance_timesteps(
            self.timesteps, 'synthesis.seg_guidance.timesteps'))


PROMPT_ORDERS = ('shares', 'caption', 'shares+caption', 'caption+shares')


def _setting(default, identity: str = VALUE, factory=None):
    if factory is not None:
        return field(default_factory=factory, metadata=dict(identity=identity))
    return field(default=default, metadata=dict(identity=identity))


@dataclass
class SynthesisSettings:
    """What ``SynthesisEngine`` makes and how.

    Args:
        source_dataset (str | dict): The real set giving classes, palette
            and ``reduce_zero_label`` (a registered type or a dataset config
            with ``metainfo``). Required.
        mask_generator (dict): ``config``, exported ``weights`` and
            optional ``model`` overrides of the stage-1 generator.
        image_generator (dict): The same for stage 2.
        real_captions (dict, optional): ``data_root`` (and ``captions``,
            default ``'captions.jsonl'``) of the real set whose patches give
            target shares and captions; required by ``shares.mode='real'``.
        masks (str): Where a sample's mask comes from: ``'generated'``
            (default) by stage 1 for the drawn target shares, or
            ``'real'``: the label map of the real patch the share sampler
            draws (FreeMask's setting: stage 2 paints new images for the
            real masks; stage 1, ``mask_sampling``, ``reject`` and
            ``cleanup_min_neighbours`` are not used). ``'real'`` needs
            ``shares.mode='real'`` without ``min_shares`` or
            ``user_shares`` (a real mask keeps its own shares), and
            patches of ``size`` pixels.
        shares (dict | ShareSettings): How target shares are drawn (read
            into :class:`ShareSettings`). Defaults to ``mode='real'``.
        mask_prompt (str): Prompt order of stage 1, as its training.
            Defaults to ``'shares+caption'``.
        image_prompt (str): Prompt order of stage 2. Defaults to
            ``'caption+shares'``.
        size (int): Side of the square samples in pixels. Defaults to 512.
        base_seed (int): Seed of sample 0 (see ``set_layout``). Defaults to
            0.
        batch_size (int): Samples per network batch; part of the identity
            with ``batching='aligned'``. Defaults to 8.
        batching (str): ``'aligned'``, ``'one_at_a_time'`` or ``'free'``
            (see :mod:`dldm_mmseg.synthesis.engine`). Defaults to
            ``'aligned'``.
        mask_sampling (dict | MaskSamplingSettings): Stage-1 sampling
            arguments (``steps``, ``guidance_scale``, ``scheduler``,
            ``prop_guidance``). Defaults to the generator's
            ``inference_cfg``.
        image_sampling (dict | ImageSamplingSettings): Stage-2 sampling
            arguments (``conditioning_scale`` instead of
            ``prop_guidance``). Defaults to the generator's
            ``inference_cfg``.
        cleanup_min_neighbours (int): Relabel mask pixels with fewer
            same-class neighbours than this (0: off). Defaults to 0.
        reject (dict | RejectSettings): ``max_cpe`` (percent; None: off)
            and ``max_tries`` (default 3) of proportion enforcement; read
            into :class:`RejectSettings`. Defaults to off.
        consistency (dict | ConsistencySettings, optional): The
            FreeMask-style filter. Defaults to None (off).
        seg_guidance (dict | SegGuidanceSettings, optional): Segmentor
            guidance of stage 2. Defaults to None (off).
        dtype (str, optional): ``'fp32'``, ``'fp16'`` or ``'bf16'``.
            Defaults to None: fp16 on CUDA, fp32 elsewhere.
        channels_last (bool): Channels-last memory layout (speed only).
            Defaults to True.
        compile (bool): ``torch.compile`` the UNet and ControlNet (speed
            only). Defaults to False.
    """

    source_dataset: Union[str, dict, None] = _setting(None, DERIVED)
    mask_generator: Optional[dict] = _setting(None, DERIVED)
    image_generator: Optional[dict] = _setting(None, DERIVED)
    real_captions: Optional[dict] = _setting(None, DERIVED)
    masks: str = _setting('generated')
    shares: ShareSettings = _setting(None, factory=ShareSettings)
    mask_prompt: str = _setting('shares+caption')
    image_prompt: str = _setting('caption+shares')
    size: int = _setting(512)
    base_seed: int = _setting(0)
    batch_size: int = _setting(8, DERIVED)
    batching: str = _setting('aligned', DERIVED)
    mask_sampling: MaskSamplingSettings = _setting(
        None, factory=MaskSamplingSettings)
    image_sampling: ImageSamplingSettings = _setting(
        None, factory=ImageSamplingSettings)
    cleanup_min_neighbours: int = _setting(0)
    reject: 'RejectSettings' = _setting(None, factory=RejectSettings)
    consistency: Optional[ConsistencySettings] = _setting(None)
    seg_guidance: Optional[SegGuidanceSettings] = _setting(None)
    dtype: Optional[str] = _setting(None)
    channels_last: bool = _setting(True, SPEED)
    compile: bool = _setting(False, SPEED)

    @classmethod
    def from_config(cls, cfg: dict) -> 'SynthesisSettings':
        """Settings from a ``synthesis`` dict.

        Raises:
            ValueError: On an unknown key (naming the known ones) or a bad
                value (naming the key, the value and what is allowed).
        """
        check_known_keys(cls, cfg, 'synthesis')
        settings = cls(**dict(cfg))
        if not isinstance(settings.reject, RejectSettings):
            settings.reject = RejectSettings.from_config(settings.reject)
        settings.shares = ShareSettings.from_config(settings.shares)
        settings.mask_sampling = MaskSamplingSettings.from_config(
            settings.mask_sampling)
        settings.image_sampling = ImageSamplingSettings.from_config(
            settings.image_sampling)
        for name, kind in (('consistency', ConsistencySettings),
                           ('seg_guidance', SegGuidanceSettings)):
            if getattr(settings, name):
                setattr(settings, name,
                        kind.from_config(getattr(settings, name)))
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check every value; the messages name the setting and the fix."""
        for name in ('size', 'batch_size'):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or \
                    value < 1:
                raise ValueError(f'synthesis.{name} must be an integer >= 1, '
                                 f'got {value!r}')
        if not isinstance(self.base_seed, int) or \
                isinstance(self.base_seed, bool):
            raise ValueError(f'synthesis.base_seed must be an integer, got '
                             f'{self.base_seed!r}')
        self._validate_masks()
        if self.batching not in BATCHING_MODES:
            raise ValueError(f'synthesis.batching must be one of '
                             f'{BATCHING_MODES}, got {self.batching!r}')
        for name in ('mask_prompt', 'image_prompt'):
            if getattr(self, name) not in PROMPT_ORDERS:
                raise ValueError(f'synthesis.{name} must be one of '
                                 f'{PROMPT_ORDERS}, got '
                                 f'{getattr(self, name)!r}')
        tries = self.reject.max_tries
        if not isinstance(tries, int) or tries < 1:
            raise ValueError(f'synthesis.reject.max_tries must be an integer '
                             f'>= 1, got {tries!r}')
        if self.dtype not in (None, 'fp32', 'fp16', 'bf16'):
            raise ValueError(f'dtype must be fp32, fp16 or bf16, got '
                             f'{self.dtype!r}')
        if not isinstance(self.cleanup_min_neighbours, int) or \
                self.cleanup_min_neighbours < 0:
            raise ValueError(f'synthesis.cleanup_min_neighbours must be an '
                             f'integer >= 0, got '
                             f'{self.cleanup_min_neighbours!r}')

    def _validate_masks(self) -> None:
        if self.masks not in MASK_SOURCES:
            raise ValueError(f'synthesis.masks must be one of '
                             f'{MASK_SOURCES}, got {self.masks!r}')
        if self.masks == 'real':
            if self.share_mode != 'real' or not self.real_captions:
                raise ValueError(
                    "synthesis.masks='real' takes the masks of the real "
                    "patches the share sampler draws: set shares.mode="
                    "'real' and real_captions=dict(data_root=...), got "
                    f'shares.mode={self.share_mode!r}, real_captions='
                    f'{self.real_captions!r}')
            fixed = [k for k in ('min_shares', 'user_shares')
                     if getattr(self.shares, k)]
            if fixed:
                raise ValueError(
                    f"synthesis.masks='real' keeps each real mask's own "
                    f'shares, so shares.{fixed[0]} cannot be met: drop '
                    f"{', '.join('shares.' + k for k in fixed)} (or "
                    "--shares), or draw masks with masks='generated'")

    @property
    def share_mode(self) -> str:
        """``shares.mode`` (``'real'`` by default)."""
        return self.shares.mode

    def identity_values(self) -> dict:
        """The ``VALUE`` settings a set's samples depend on, each when it
        differs from its default (so adding a setting leaves the
        fingerprint of existing sets as it was); a nested one as
        :meth:`NestedSettings.identity_value` gives it."""
        values = {}
        for f in dataclasses.fields(self):
            if f.metadata.get('identity') != VALUE:
                continue
            default = f.default_factory() \
                if f.default_factory is not dataclasses.MISSING else f.default
            value = getattr(self, f.name)
            if isinstance(value, NestedSettings):
                nested = value.identity_value()
                if nested is not None:
                    values[f.name] = nested
            elif value != default:
                values[f.name] = dataclasses.asdict(value) \
                    if dataclasses.is_dataclass(value) else value
        return values
