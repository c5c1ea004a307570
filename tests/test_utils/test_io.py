import os
import re

import numpy as np
import pytest

from dldm_mmseg.utils.io import (atomic_directory, atomic_open,
                                 atomic_write_image, read_jsonl,
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


@pytest.mark.parametrize('umask', [0o022, 0o027])
def test_written_files_and_folders_respect_the_umask(tmp_path, umask):
    # mkstemp/mkdtemp create 0600/0700 whatever the umask: a teammate could
    # not read a report or a synthetic set on a shared machine
    old = os.umask(umask)
    try:
        atomic_write_image(str(tmp_path / 'a.png'), np.zeros((2, 2), np.uint8))
        with atomic_directory(str(tmp_path / 'export')) as tmp:
            with open(os.path.join(tmp, 'config.json'), 'w') as f:
                f.write('{}')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.png').stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / 'export').stat().st_mode & 0o777 == 0o777 & ~umask


def test_atomic_directory_replaces_whole_and_keeps_old_on_failure(tmp_path):
    out = tmp_path / 'export'
    with atomic_directory(str(out)) as tmp:
        (tmp_path / tmp / 'a').write_text('1')
    with pytest.raises(RuntimeError):
        with atomic_directory(str(out)) as tmp:
            (tmp_path / tmp / 'b').write_text('half')
            raise RuntimeError('killed')
    assert sorted(os.listdir(out)) == ['a']
    with atomic_directory(str(out)) as tmp:
        (tmp_path / tmp / 'c').write_text('2')
    assert sorted(os.listdir(out)) == ['c']  # replaced whole, not merged
    assert sorted(os.listdir(tmp_path)) == ['export']  # no temporaries
