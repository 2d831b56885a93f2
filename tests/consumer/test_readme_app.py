"""The README's app examples (code blocks marked ``<!-- consumer-app: NAME -->``, the one of
"Use the constructs in your app" first), verbatim, as a user's own app on the installed wheel:
each synthesizes clean under the library's nag packs and runs a file offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from etl_handlers.core import codes

from .harness import (
    CARD,
    ConsumerEnv,
    ConsumerRun,
    readme_apps,
    run_app,
    transactions_csv,
)

pytestmark = pytest.mark.slow
#: The app of "Use the constructs in your app" (every marked block runs).
README_APP = "payments"
# Each marked block is an app of its own, in an xdist group of its own.
README_APPS = [
    pytest.param(name, marks=pytest.mark.xdist_group(f"consumer-readme-{name}"), id=name)
    for name in sorted(readme_apps())
]


def _run(env: ConsumerEnv, root: Path, name: str) -> ConsumerRun:
    return run_app(
        env,
        root,
        f"readme-{name}",
        source=readme_apps()[name],
        files={"transactions.csv": transactions_csv()},
    )


@pytest.fixture(scope="module", params=README_APPS)
def readme_run(request, consumer_env: ConsumerEnv, consumer_root: Path) -> ConsumerRun:
    return _run(consumer_env, consumer_root, request.param)


def test_the_readme_marks_its_app_example():
    apps = readme_apps()
    assert README_APP in apps, f"README.md lost its <!-- consumer-app: {README_APP} --> marker"
    for code in apps.values():  # whole apps, not fragments: each builds its app and synthesizes
        assert "cdk.App()" in code and code.rstrip().endswith("app.synth()")


def test_a_readme_app_synthesizes_clean_under_the_library_packs(readme_run):
    readme_run.assert_synthesized_clean()


def test_a_readme_app_runs_a_file_offline(readme_run):
    job = readme_run.job()
    assert (job["status"], job["error"]) == ("SUCCEEDED", None)
    assert job["rows"] == {"input": 21, "valid": 20, "rejected": 1}
    assert job["totals"] == {
        "USD": {"count": 10, "debit": "102.50", "credit": "0.00"},
        "EUR": {"count": 10, "debit": "0.00", "credit": "112.50"},
    }
    (rejected,) = job["outputs"]["rejected"]
    (reject,) = readme_run.lines(rejected)
    assert (reject["row"], reject["code"]) == (21, codes.INVALID_CURRENCY)
    (enriched,) = job["outputs"]["enriched"]
    assert len(readme_run.lines(enriched)) == 20
    # the card number of row 1 reached no output, record or log in full
    out = readme_run.folder / "etl-out"
    written = [p for p in out.rglob("*") if p.is_file() and ".assembly" not in p.parts]
    assert written and not [p for p in written if CARD in p.read_text(errors="replace")]
