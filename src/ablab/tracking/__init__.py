"""Everything between ablab and MLflow: the client and one run's record (client.py), what every
run records (record.py), the tag contract (tags.py), the store, the server check, and the
liveness, lease and stale-run rules that keep a killed launch from leaving runs RUNNING."""
