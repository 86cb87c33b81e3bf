"""opsctl: the operator core of the CRM win-probability MLOps platform.

The core (config, catalog, schedulers, discovery, provisioners, releases) never
imports the CLI in :mod:`ops_cli.cli`, nor ``rich``; the CLI is a thin layer
that parses arguments, calls the core and renders its results.
"""

__version__ = "0.1.0"
