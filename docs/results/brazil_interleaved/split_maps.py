"""The two deals of the Brazil scene side by side (``split_maps.jpg``):
the plain deal's split map, then the interleaved one's (blue train,
orange val, green test), from their prepared folders::

    python docs/results/brazil_interleaved/split_maps.py \\
        work_dirs/brz/data/brazil_buildings \\
        work_dirs/bint_src/data/brazil_buildings
"""
import argparse
import os.path as osp

from PIL import Image, ImageDraw

from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('plain', help="the plain deal's prepared folder")
    parser.add_argument('interleaved', help="the interleaved deal's")
    parser.add_argument('--scale', type=float, default=0.5)
    parser.add_argument('--out', default=osp.join(HERE, 'split_maps.jpg'))
    args = parser.parse_args()
    maps = []
    for folder in (args.plain, args.interleaved):
        shown = Image.open(osp.join(folder, 'split_map.png')).convert('RGB')
        maps.append(shown.resize((round(shown.width * args.scale),
                                  round(shown.height * args.scale))))
    gap, title = 10, 20
    width, height = maps[0].size
    figure = Image.new('RGB', (2 * width + gap, height + title), 'white')
    draw = ImageDraw.Draw(figure)
    for k, (shown, name) in enumerate(zip(maps, ('plain deal',
                                                 'interleaved deal'))):
        figure.paste(shown, (k * (width + gap), title))
        draw.text((k * (width + gap) + 4, 4), name, fill='black')
    with atomic_open(args.out, 'wb') as f:
        figure.save(f, format='JPEG', quality=85)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
