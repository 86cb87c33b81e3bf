"""Monthly model monitoring: data and prediction drift of the month's scored
opportunities against the champion's training reference, realised performance of
past predictions once their deals close, Evidently snapshots for the Evidently UI,
alerts and a cooled-down retraining trigger. The flow is ``workloads.flows.monitoring``."""
