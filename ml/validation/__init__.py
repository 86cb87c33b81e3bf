"""Validation of raw CRM tables: schema, business rules, referential integrity,
quarantine of bad rows with their reasons, and a quality score with a gate."""

from ml.validation.validate import QualityGateError, ValidationResult, validate_files

__all__ = ["QualityGateError", "ValidationResult", "validate_files"]
