"""A payments team's own app (issue 17) with its own schema: the default one without
`country`, plus a required 4-digit `merchant_category_code`."""

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import aws_cdk as cdk  # noqa: E402

from etl_constructs import (  # noqa: E402
    ColumnSpec,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    TransactionSchema,
    compliance,
)

default = TransactionSchema.default()
schema = TransactionSchema(
    name="card-payments",
    version=1,
    columns=(
        *(column for column in default.columns if column.name != "country"),
        ColumnSpec(
            name="merchant_category_code", type="identifier", required=True, pattern="^[0-9]{4}$"
        ),
    ),
)

app = cdk.App()
stack = cdk.Stack(app, "CardPayments")
landing = IngestionBucket(stack, "Landing", environment_suffix="prod")
jobs = MetadataStore(stack, "Jobs", environment_suffix="prod")
EtlWorkflow(
    stack,
    "Flow",
    environment_suffix="prod",
    bucket=landing.bucket,
    table=jobs.table,
    schema=schema,
)
compliance.add_nag_packs(app)
app.synth()
