"""The local scheduler: workloads as processes under supervisord, on loopback."""
