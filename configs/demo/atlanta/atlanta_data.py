# SpaceNet Atlanta (buildings), as `tools/get_benchmark.py spacenet_atlanta`
# prepares it (tools/demo.py --dataset spacenet_atlanta): 64 px tiles of a
# 0.5 m panchromatic scene, label maps 0 = ignore, 1 = background,
# 2 = building. The demo configs below inherit the toy ones and change
# the data only.
atlanta_root = ('{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_atlanta}}'
                '/data/spacenet_atlanta')
source_dataset = dict(
    type='BaseSegDataset',
    reduce_zero_label=True,
    metainfo=dict(
        classes=('background', 'building'),
        palette=[[0, 0, 0], [255, 255, 255]]))
