"""Model families, time-ordered tuning, calibration, evaluation, tracking and promotion."""
