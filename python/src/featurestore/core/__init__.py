"""What every layer shares: the feature-group contract and the manifest's catalog, settings, the one
exception hierarchy (errors.py), value and key codecs, time helpers, retries, and dbt's in-process compiler.
Nothing here imports from the rest of the package."""
