"""Compare activation functions on MNIST: Hydra configs, skorch networks, GridSearchCV, HiPlot."""
