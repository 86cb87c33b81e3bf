"""What runs on the platform: the workload catalog (``catalog/*.yaml``, read as
data by opsctl) and the code of the platform's own workloads."""
