"""Reading results: statistics, tables, curves, plots, HiPlot and HTML pages."""
