"""Compatibility fixes for the OpenMMLab stack this plugin runs on.

The maintained OneDL forks (``onedl-mmsegmentation`` etc.) keep the import
names ``mmseg``/``mmengine``/``mmcv`` but change the distribution names.
mmengine resolves the config scope ``mmseg::`` (as in
``_base_ = ['mmseg::deeplabv3plus/...']``) through the distribution name in
``mmengine.config.utils.MODULE2PACKAGE`` and fails with
"mmsegmentation is not installed" when only the fork is present. Importing
:mod:`dldm_mmseg` points that entry at the distribution that is installed.

Two pure but slow lookups of mmengine can be kept once made, by opting in
with :func:`speed_up_configs`: the yapf formatting of a config, done each
time ``Config.pretty_text`` is read (about six times per ``Runner`` run;
:func:`memoize_config_formatting`), and the scan of a package's metafiles
for each ``mmseg::`` path in a config
(:func:`memoize_external_config_lookup`).
"""
import contextlib
import functools
import io
import json
import sys
from collections import OrderedDict
from importlib import metadata

ONEDL_NOTICE = 'Could not import OneDL'

# scope -> candidate distributions, the upstream name first.
_SCOPE_DISTRIBUTIONS = {
    'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
    'mmdet': ('mmdet', 'onedl-mmdetection'),
    'mmpretrain': ('mmpretrain', 'onedl-mmpretrain'),
}


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def register_onedl_scopes() -> dict:
    """Map OpenMMLab config scopes to whichever distribution is installed.

    Safe to call more than once. The mapping is changed in place, because
    mmengine's registry and config modules hold references to the same dict.

    Returns:
        dict: The scopes that were remapped, ``{scope: distribution}``.
    """
    from mmengine.config import utils as config_utils

    remapped = {}
    for scope, candidates in _SCOPE_DISTRIBUTIONS.items():
        current = config_utils.MODULE2PACKAGE.get(scope)
        if current is not None and _installed(current):
            continue
        for candidate in candidates:
            if _installed(candidate):
                config_utils.MODULE2PACKAGE[scope] = candidate
                remapped[scope] = candidate
                break
    return remapped


def import_mmseg_quietly() -> None:
    """Import ``mmseg.datasets`` without its "Could not import OneDL" lines.

    The OneDL build of mmsegmentation prints that line twice at import when
    its optional OneDL-format loader is missing (``print_log`` without a
    logger prints whatever the level), which looks like a broken install.
    Nothing is missing for this plugin; every other line is printed as is.
    """
    if 'mmseg.datasets' in sys.modules:
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        import mmseg.datasets  # noqa: F401
    for line in buffer.getvalue().splitlines():
        if line.strip() != ONEDL_NOTICE:
            print(line)


def speed_up_configs() -> None:
    """Opt in, for this process, to both memoisations below (yapf
    formatting of config texts and the metafile scan of ``mmseg::`` paths).
    They patch a yapf function and a private mmengine helper process-wide,
    so importing the plugin does not apply them; the demo, the sweep and
    the test suite, which build many short runs, call this."""
    memoize_config_formatting()
    memoize_external_config_lookup()


def memoize_config_formatting(maxsize: int = 16) -> None:
    """Format each config text with yapf once per process.

    A ``Runner`` reads ``Config.pretty_text`` about six times per run (the
    log, the dumped config, the visualizer, every checkpoint's meta, ...)
    and mmengine formats the text with yapf each time. yapf is slow on
    mmseg's large nested dicts, enough to dominate a short run. ``FormatCode``
    is a pure function of its arguments, so the last ``maxsize`` results
    are kept: the text is the same, formatted once. Safe to call more than
    once.
    """
    from yapf.yapflib import yapf_api
    if getattr(yapf_api.FormatCode, 'dldm_memoized', False):
        return
    original = yapf_api.FormatCode
    results = OrderedDict()

    @functools.wraps(original)
    def format_code(*args, **kwargs):
        key = json.dumps([args, kwargs], sort_keys=True, default=repr)
        if key in results:
            results.move_to_end(key)
            return results[key]
        result = format_code.__wrapped__(*args, **kwargs)  # yapf's own
        results[key] = result
        if len(results) > maxsize:
            results.popitem(last=False)
        return result

    format_code.dldm_memoized = True
    format_code.results = results
    yapf_api.FormatCode = format_code


def memoize_external_config_lookup() -> None:
    """Scan a package's metafiles once per config name.

    mmengine resolves each ``package::path`` of a config (``_base_ =
    ['mmseg::_base_/...']``) by reading every metafile of the package (53
    YAML files for mmseg) and, for a base
    config, not finding it there; this plugin's configs name several. The
    answer depends only on the installed package, so it is kept per
    ``(package path, config name)``, misses included (raised again as the
    same ``ValueError``, on which mmengine falls back to the base path).
    Does nothing if mmengine's private helper is not where it used to be.
    Safe to call more than once.
    """
    from mmengine.config import config as config_module
    original = getattr(config_module, '_get_external_cfg_path', None)
    if original is None or getattr(original, 'dldm_memoized', False):
        return

    @functools.lru_cache(maxsize=None)
    def lookup(package_path: str, cfg_file: str):
        try:
            return original(package_path, cfg_file), None
        except ValueError as e:
            return None, str(e)

    @functools.wraps(original)
    def external_cfg_path(package_path: str, cfg_file: str) -> str:
        path, miss = lookup(package_path, cfg_file)
        if miss is not None:
            raise ValueError(miss)
        return path

    external_cfg_path.dldm_memoized = True
    external_cfg_path.lookup = lookup
    config_module._get_external_cfg_path = external_cfg_path
