"""The prediction service: a FastAPI app that scores CRM opportunities with the
model a registry alias points to, follows the alias, and logs every prediction.

Run it with ``python -m workloads.serving --host 127.0.0.1 --port 18030``;
settings come from the environment (:mod:`workloads.serving.settings`).
"""
