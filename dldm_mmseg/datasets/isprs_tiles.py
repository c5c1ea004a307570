"""The ISPRS tiles as downloaded: every ``.tif`` inside the zip archives
(or the same files unpacked in folders), read as RGB."""
import os
import os.path as osp
import zipfile
from dataclasses import dataclass
from typing import Callable, List

import cv2
import numpy as np


@dataclass
class TileFile:
    """One tile file inside an archive or a folder."""
    name: str
    origin: str
    read_bytes: Callable[[], bytes]

    def read_rgb(self) -> np.ndarray:
        """Decode as an ``HxWx3`` RGB uint8 array."""
        try:
            data = np.frombuffer(self.read_bytes(), dtype=np.uint8)
        except (OSError, zipfile.BadZipFile, KeyError) as e:
            raise OSError(f'cannot read {self.origin}: {e}; download it '
                          'again') from e
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if image is None:
            raise OSError(f'{self.origin} is not a readable TIFF image; '
                          'download it again')
        if image.ndim == 2:
            raise ValueError(f'{self.origin} has one channel; expected an '
                             'RGB (or colour-coded label) tile')
        if image.dtype != np.uint8:
            raise ValueError(f'{self.origin} is {image.dtype}; expected 8-bit '
                             'RGB (use the RGB / IRRG "top" tiles, not DSMs)')
        return cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)


def _is_ground_truth(location: str) -> bool:
    """Whether a folder or archive holds ground truth (Vaihingen's labels
    share their file names with the images)."""
    location = location.lower()
    return 'ground_truth' in location or 'gts' in location


def find_tile_files(raw_dir: str) -> List[TileFile]:
    """Every ``.tif`` under ``raw_dir``, inside zip archives or not."""
    if not osp.isdir(raw_dir):
        raise FileNotFoundError(f'raw data folder {raw_dir} does not exist')
    files = []
    for folder, _, names in sorted(os.walk(raw_dir)):
        for name in sorted(names):
            path = osp.join(folder, name)
            if name.lower().endswith('.tif'):
                files.append(TileFile(name, path, lambda p=path: open(
                    p, 'rb').read()))
            elif name.lower().endswith('.zip'):
                try:
                    archive = zipfile.ZipFile(path)
                except zipfile.BadZipFile as e:
                    raise OSError(f'{path} is not a valid zip archive ({e}); '
                                  'download it again') from e
                for member in archive.namelist():
                    if member.lower().endswith('.tif'):
                        files.append(TileFile(
                            osp.basename(member), f'{path}!{member}',
                            lambda a=archive, m=member: a.read(m)))
    return files
