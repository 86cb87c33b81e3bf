"""The cluster scheduler: workloads as Nomad jobs, discovered through Consul.

Modules:

- :mod:`.values` and :mod:`.render` turn a workload spec into a Nomad job
  (JSON API form); pure functions, no I/O.
- :mod:`.client` is the only module that talks to Nomad (through python-nomad),
  with retries and error mapping.
- :mod:`.plan` reads a plan response into :class:`ops_cli.scheduler.plan.JobPlan`; :mod:`.deploy` follows a deployment
  (canaries, promotion, failure and auto-revert).
- :mod:`.scheduler` implements :class:`ops_cli.scheduler.base.Scheduler` plus
  the optional abilities of :mod:`ops_cli.scheduler.abilities`.
"""
