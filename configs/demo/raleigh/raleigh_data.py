# Landsat 7 over Raleigh NC (land cover), as `tools/get_benchmark.py
# raleigh_landsat` prepares it: 32 px tiles of a 28.5 m scene shown as
# NIR, red, green; label maps 0 = ignore (and sediment), 1..6 = the six
# classes below.
raleigh_root = ('{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
                '/data/raleigh_landsat')
source_dataset = dict(
    type='BaseSegDataset',
    reduce_zero_label=True,
    metainfo=dict(
        classes=('developed', 'agriculture', 'herbaceous', 'shrubland',
                 'forest', 'water'),
        palette=[[255, 0, 0], [255, 255, 0], [170, 255, 120],
                 [150, 110, 40], [0, 110, 0], [0, 0, 255]]))
