"""A payments team's own app (issue 17): its own account and region, the compliance profile
from `-c compliance=standard|strict`, an alarm e-mail, the library's cdk-nag packs, and no
acknowledgement of its own. Strict shares one network and the keys, as the README shows."""

from etl_constructs import use_virtualenv_node

use_virtualenv_node()

import aws_cdk as cdk  # noqa: E402

from etl_constructs import (  # noqa: E402
    ControlApi,
    DataKey,
    EtlWorkflow,
    IngestionBucket,
    MetadataStore,
    ObservabilityPack,
    PipelineKey,
    PipelineNetwork,
    compliance,
)

app = cdk.App()
profile = app.node.try_get_context("compliance") or "standard"
stack = cdk.Stack(app, "Payments", env=cdk.Environment(account="123456789012", region="eu-west-1"))
shared = {"environment_suffix": "prod", "compliance": profile}
key = PipelineKey(stack, "Key", environment_suffix="prod").key
storage_key, network = None, {}
if profile == "strict":
    storage_key = DataKey(stack, "DataKey", environment_suffix="prod").key
    vpc = PipelineNetwork(stack, "Network", environment_suffix="prod", encryption_key=key).vpc
    network = {"vpc": vpc}
landing = IngestionBucket(stack, "Landing", encryption_key=storage_key, **shared)
jobs = MetadataStore(stack, "Jobs", encryption_key=storage_key, **shared)
flow = EtlWorkflow(
    stack,
    "Flow",
    bucket=landing.bucket,
    table=jobs.table,
    encryption_key=key,
    **network,
    **shared,
)
api = ControlApi(
    stack,
    "Api",
    bucket=landing.bucket,
    table=jobs.table,
    state_machine=flow.state_machine,
    encryption_key=key,
    **network,
    **shared,
)
ObservabilityPack(
    stack, "Ops", environment_suffix="prod", alarm_email="payments-oncall@example.com"
).monitor_workflow(flow).monitor_api(api).monitor_pipeline_metrics()
compliance.add_nag_packs(app, profile)
app.synth()
