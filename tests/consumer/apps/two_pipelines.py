"""Two teams' pipelines in one app (issue 17), one stack each, both `prod`: the name prefix
keeps their physical names apart.

`name_prefix` is the prop issue 17 asks for (branch i13-constructs, `{prefix}-data-bucket-
{suffix}`); written to the API the issue describes: the lead reconciles the name on merge."""

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import aws_cdk as cdk  # noqa: E402

from etl_constructs import EtlWorkflow, IngestionBucket, MetadataStore, compliance  # noqa: E402

app = cdk.App()
for team in ("cards", "payouts"):
    stack = cdk.Stack(app, f"{team.capitalize()}Pipeline")
    named = {"environment_suffix": "prod", "name_prefix": team}
    landing = IngestionBucket(stack, "Landing", **named)
    jobs = MetadataStore(stack, "Jobs", **named)
    EtlWorkflow(stack, "Flow", bucket=landing.bucket, table=jobs.table, **named)
compliance.add_nag_packs(app)
app.synth()
