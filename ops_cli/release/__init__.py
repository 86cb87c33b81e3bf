"""Releases and promotion: a sealed bundle per release, verified in one environment
and promoted, unchanged, to the next.

Modules:

- :mod:`.manifest`: the bundle's model and its content hash (pure)
- :mod:`.hashing`: canonical JSON, file-tree and config hashes (pure)
- :mod:`.images`: image references with digests (pure)
- :mod:`.sources`: git commit and infrastructure module versions of the checkout
- :mod:`.records`: verification and audit records, and the history query (pure)
- :mod:`.store`: the releases bucket (the only module doing object-storage I/O)
- :mod:`.registry`: the MLflow registry (the only module doing MLflow I/O)
- :mod:`.endpoints`: where an environment's store and registry answer
- :mod:`.create`, :mod:`.verify`, :mod:`.promotion`: the three operations
"""
