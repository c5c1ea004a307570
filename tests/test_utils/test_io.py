import os
import re

import numpy as np
import pytest

from dldm_mmseg.utils.io import (atomic_open, atomic_write_image, read_jsonl,
                                 remove_stale_temporaries)


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'manifest.jsonl'
    path.write_text('old\n')
    with pytest.raises(RuntimeError):
        with atomic_open(str(path)) as f:
            f.write('new partial')
            raise RuntimeError('killed')
    assert path.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['manifest.jsonl']


def test_unwritable_folder_is_named(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    # the folder that cannot be made (a file is in the way) is named
    with pytest.raises(OSError, match=re.escape(str(blocker / 'sub'))):
        atomic_write_image(str(blocker / 'sub' / 'a.png'),
                           np.zeros((2, 2), np.uint8))
    assert os.listdir(tmp_path) == ['file']


def test_read_jsonl_truncated_tail(tmp_path):
    path = tmp_path / 'c.jsonl'
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ')
    with pytest.raises(ValueError, match='c.jsonl:3'):
        read_jsonl(str(path))
    assert read_jsonl(str(path), tolerate_truncated_tail=True) == [
        {'a': 1}, {'a': 2}]


def test_remove_stale_temporaries(tmp_path):
    (tmp_path / '.tmp-abc.png').write_bytes(b'x')
    (tmp_path / 'keep.png').write_bytes(b'x')
    assert remove_stale_temporaries(str(tmp_path)) == 1
    assert os.listdir(tmp_path) == ['keep.png']


def test_full_disk_keeps_old_file_names_target_and_cleans_up(tmp_path,
                                                             monkeypatch):
    import errno
    from PIL import Image
    path = tmp_path / 'ann.png'
    atomic_write_image(str(path), np.zeros((4, 4), np.uint8))
    before = path.read_bytes()

    def no_space(self, fp, *args, **kwargs):
        fp.write(b'half a png')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Image.Image, 'save', no_space)
    with pytest.raises(OSError, match=r'failed to write .*ann\.png.*No space'):
        atomic_write_image(str(path), np.ones((4, 4), np.uint8))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['ann.png']
