r"""The database password RDS manages, read where RDS keeps it, for MLflow and Prefect.

RDS keeps the master password of a ``manage_master_user_password`` instance in
a Secrets Manager secret (JSON ``{"username": ..., "password": ...}``) and
rotates it. A Nomad template cannot read Secrets Manager, and a copy in a
Nomad Variable goes stale at the first rotation, so the cluster runs MLflow
and Prefect server through this entrypoint::

    python -m workloads.database_password --secret-arn ARN -- mlflow server ...

1. At start it reads the secret with the instance role (boto3's default
   credential chain; the region is the ARN's) and passes the password to the
   service as ``PGPASSWORD``, which both libpq (psycopg2: MLflow) and asyncpg
   (Prefect) read when the connection URL has none. Nothing is written to
   disk and the URL needs no escaping.
2. It starts a watcher process, then replaces itself with the service
   (``exec``: the service keeps the task's PID and gets Nomad's signals).
3. The watcher reads the secret's version every ``--check-every-s`` seconds
   (the first time at a random point of that interval, so instances of one
   job do not restart together). When RDS has rotated the password it stops
   the service (SIGTERM, SIGKILL after ``--stop-grace-s``); Nomad restarts the
   task, and step 1 reads the new password.

A rotated password does not end the connections already open, so the service
keeps working until it restarts; only connections opened after the rotation
and before the restart fail, for at most one check interval. A libpq
password file would avoid the restart for MLflow, but asyncpg does not
unescape ``:`` and ``\\`` in such a file, and RDS may put either in a password.
"""
