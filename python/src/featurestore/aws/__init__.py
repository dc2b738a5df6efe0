"""AWS plumbing shared by the Athena offline engine and the set-up commands: running Athena queries
(athena_queries.py), S3 locations and objects (s3.py), Glue table definitions (glue.py), and loading the
raw data of a first run (raw_data.py)."""
