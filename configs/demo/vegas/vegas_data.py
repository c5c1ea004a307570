# SpaceNet Las Vegas (roads), as `tools/get_benchmark.py spacenet_vegas_roads`
# prepares it (tools/demo.py --dataset spacenet_vegas_roads): 64 px tiles of
# a 0.3 m panchromatic scene, label maps 0 = ignore, 1 = background,
# 2 = road. The demo configs below inherit the toy ones and change the data
# and the schedule lengths (so stage 1 validates every 480 iterations
# instead of 160, and draws one sample grid at its end).
vegas_root = ('{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_vegas_roads}}'
              '/data/spacenet_vegas_roads')
source_dataset = dict(
    type='BaseSegDataset',
    reduce_zero_label=True,
    metainfo=dict(
        classes=('background', 'road'),
        palette=[[0, 0, 0], [255, 255, 255]]))
