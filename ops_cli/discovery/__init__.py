"""Discovery: how workloads and people find services. ``static`` or ``consul``."""
