"""A payments team's own app (issue 17) that brings its landing bucket: created elsewhere
(with EventBridge delivery on), taken by name into `existing_bucket_obj`."""

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore, compliance  # noqa: E402

LANDING_BUCKET = "payments-landing-prod"

app = cdk.App()
stack = cdk.Stack(app, "PaymentsIngest")
landing = IngestionBucket(
    stack,
    "Landing",
    environment_suffix="prod",
    existing_bucket_obj=s3.Bucket.from_bucket_name(stack, "Brought", LANDING_BUCKET),
)
jobs = MetadataStore(stack, "Jobs", environment_suffix="prod")
EtlWorkflow(stack, "Flow", environment_suffix="prod", bucket=landing.bucket, table=jobs.table)
compliance.add_nag_packs(app)
app.synth()
