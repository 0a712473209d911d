"""The OCI distribution API (v2) for image repositories: blob store, manifests, tags, token auth."""
