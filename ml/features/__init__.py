"""Point-in-time features: only what was known at the prediction date."""

from ml.features.rows import INPUT_COLUMNS, labelled_rows
from ml.features.transformer import CrmTables, PointInTimeFeatures

__all__ = ["INPUT_COLUMNS", "CrmTables", "PointInTimeFeatures", "labelled_rows"]
