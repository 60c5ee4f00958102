"""The statistics' defaults, for a study whose config or record names none: one home for each number."""

ALPHA = 0.05  # stats.alpha's default (conf/config.yaml): the level of a study that names none
MARGIN = 0.5  # stats.margin's default in accuracy points: the margin of a study that names none
VALID_FRACTION = 0.2  # train.valid_fraction's default: the validation share of a study that names none
