"""Stages: files kept under the data dir, moved over HTTP by presigned URLs."""
