"""The CRM dataset: its schema, its sources and its immutable raw landing zone."""
