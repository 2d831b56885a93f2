"""The README's "Use the constructs in your app" example, run verbatim: it synthesizes under
the library's cdk-nag packs with no acknowledgement of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_app_code() -> str:
    """The first Python block of the README section "Use the constructs in your app"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use the constructs in your app", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README section lost its example"
    return match.group(1)


def run(code: str, outdir: Path) -> dict:
    """Run ``code`` as an app file (its ``cdk.App()`` writes to ``outdir``); its namespace."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDK_OUTDIR", str(outdir))
        namespace: dict = {"__name__": "readme_app"}
        exec(compile(code, str(README), "exec"), namespace)
    return namespace


def strict_variant(code: str) -> str:
    """The same app under the strict profile: every construct and the packs."""
    replacements = {
        'environment_suffix="prod"': 'environment_suffix="prod", compliance="strict"',
        "compliance.add_nag_packs(app)": 'compliance.add_nag_packs(app, "strict")',
    }
    for old, new in replacements.items():
        assert old in code, f"the README example changed shape: {old!r} is gone"
        code = code.replace(old, new)
    return code


@pytest.fixture(scope="module")
def readme_app(tmp_path_factory):
    """The example's namespace after it ran verbatim (``app.synth()`` included)."""
    return run(readme_app_code(), tmp_path_factory.mktemp("readme-app"))


def test_the_readme_example_synthesizes_clean_under_its_packs(readme_app):
    """``app.synth()`` raised on any unacknowledged finding; the example acknowledges nothing."""
    assert not re.search(r"acknowledge\w*\(|Acknowledgment", readme_app_code())
    template = readme_app["app"].synth().get_stack_by_name("Payments").template
    (subscription,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert subscription["Properties"]["Protocol"] == "email"
    assert "RedrivePolicy" in subscription["Properties"]  # undeliverable alarms are kept


def test_the_readme_example_creates_one_key(readme_app):
    """Workflow, API and monitoring share one pipeline key (the cost table prices one)."""
    template = readme_app["app"].synth().get_stack_by_name("Payments").template
    keys = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert len(keys) == 1


def test_the_readme_example_under_the_strict_profile_passes_all_four_packs(tmp_path):
    namespace = run(strict_variant(readme_app_code()), tmp_path)
    template = namespace["app"].synth().get_stack_by_name("Payments").template
    queues = [r for r in template["Resources"].values() if r["Type"] == "AWS::SQS::Queue"]
    assert queues and all("KmsMasterKeyId" in q["Properties"] for q in queues)
    # One pipeline key (logs, queues, topic), one data key (bucket, table, backups).
    keys = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert len(keys) == 2
