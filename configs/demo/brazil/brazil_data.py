# The Brazil orthophoto (buildings), as `tools/get_benchmark.py
# brazil_buildings` prepares it (tools/demo.py --dataset brazil_buildings):
# 64 px tiles of a 0.35 m RGB scene, label maps 0 = ignore,
# 1 = background, 2 = building. The demo configs below inherit the toy
# ones and change the data only.
brazil_root = ('{{$DLDM_DEMO_DIR:work_dirs/demo_brazil_buildings}}'
               '/data/brazil_buildings')
source_dataset = dict(
    type='BaseSegDataset',
    reduce_zero_label=True,
    metainfo=dict(
        classes=('background', 'building'),
        palette=[[0, 0, 0], [255, 255, 255]]))
