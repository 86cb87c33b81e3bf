"""Prefect 3 flows of the CRM pipeline: acquisition, monthly processing, training,
and the whole pipeline; ``deploy`` registers them on the platform's work pool."""
