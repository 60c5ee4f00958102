"""Training: the skorch net, its loader, stacked fits, diagnostics and fit records."""
