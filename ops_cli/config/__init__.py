"""Environment configuration: YAML files merged into strict pydantic models."""

from ops_cli.config.loader import available_environments, load_environment
from ops_cli.config.models import EnvironmentConfig

__all__ = ["EnvironmentConfig", "available_environments", "load_environment"]
