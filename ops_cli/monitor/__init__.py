"""Monitoring seen from the operator: run the monthly monitoring flow, read its results
from the monitoring bucket, and replay generated months on a local platform."""
