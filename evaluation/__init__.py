"""The project's own labelled evaluation sets and the reports `make eval` prints (not part of the wheel)."""
