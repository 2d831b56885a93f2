"""Adapters to AWS: clients, S3 streams, the job store, DynamoDB types, observability."""
