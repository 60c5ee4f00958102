"""The read layer: what a results dir holds, loaded once (`src.reporting.read.study`)."""
