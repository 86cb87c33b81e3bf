"""The CRM win-probability ML library; it imports nothing of opsctl or workloads."""
