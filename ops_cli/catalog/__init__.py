"""The workload catalog, read as data from ``workloads/catalog/*.yaml``."""

from ops_cli.catalog.loader import Catalog, load_catalog
from ops_cli.catalog.spec import WorkloadSpec

__all__ = ["Catalog", "WorkloadSpec", "load_catalog"]
