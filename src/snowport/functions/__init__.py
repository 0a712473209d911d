"""Service functions called from SQL: a statement's calls bound to the data engine as vectorised UDFs
(calls.py), rows sent to the service's endpoint in batches in the external-function JSON format
(client.py), values converted between the engine's Arrow arrays and JSON (values.py)."""
