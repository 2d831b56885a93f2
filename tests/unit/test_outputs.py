from __future__ import annotations

import json

import pytest

from etl_constructs.outputs import OutputsError, flatten, main


def test_flatten_merges_stacks():
    assert flatten({"A": {"DataBucketName": "b"}, "B": {"ApiEndpoint": "https://x"}}) == {
        "DataBucketName": "b",
        "ApiEndpoint": "https://x",
    }


def test_conflicting_names_are_an_error():
    with pytest.raises(OutputsError, match="'Name' appears in both A and B"):
        flatten({"A": {"Name": "1"}, "B": {"Name": "2"}})


def test_cli_writes_the_flat_file(tmp_path, capsys):
    source = tmp_path / "deploy.json"
    source.write_text(json.dumps({"EtlStorage-dev": {"DataBucketName": "etl-data-bucket-dev"}}))
    target = tmp_path / "cfn-outputs" / "flat-outputs.json"
    assert main([str(source), str(target)]) == 0
    assert json.loads(target.read_text()) == {"DataBucketName": "etl-data-bucket-dev"}


def test_cli_reports_missing_and_bad_files(tmp_path, capsys):
    assert main([str(tmp_path / "none.json"), str(tmp_path / "out.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert main([str(bad), str(tmp_path / "out.json")]) == 2
    assert main([]) == 2
