# Stage 1 (numeric + text, CE only) whose pixel-wise CE weighs each class
# as the Raleigh segmentor recipe does: sqrt(largest share / share) of
# the train pixels (developed, agriculture, herbaceous, shrubland,
# forest, water).
_base_ = ['./mask_small_raleigh_numeric_ce_only.py']
model = dict(ce_class_weight=[1.2, 7.8, 1.9, 2.8, 1.0, 4.6])
