"""Elasticsearch as code: index templates, ILM policies and ingest pipelines from the platform model.

definitions.py reads elk/ (what an SRE edits), build.py turns it and platform.yaml into request
bodies, lint.py checks them, cluster.py and publish.py bring a cluster in line with them.
"""
