"""The command line, run in-process through ``main`` and once as a real process."""

from __future__ import annotations

import json

import savedmodel_widgets as smw
from savedmodel_widgets.cli import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_CHECK_FAILED,
    EXIT_OK,
    main,
)


def test_show_prints_tree_signatures_and_variables(saved_models, capsys):
    assert main(["show", saved_models["builder"]]) == EXIT_OK
    out = capsys.readouterr().out
    info = smw.read_saved_model(saved_models["builder"])
    assert "signature 'predict_images'" in out
    for tensor in (
        info.signature("predict_images").inputs + info.signature("predict_images").outputs
    ):
        assert tensor.alias in out and tensor.name in out
    for entry in info.files:
        assert entry.name in out
    for variable in info.variables:
        assert variable.name in out


def test_show_json_is_the_full_info(saved_models, capsys):
    assert main(["show", saved_models["module"], "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    expected = json.loads(json.dumps(smw.read_saved_model(saved_models["module"]).to_dict()))
    assert data == expected
    assert data["meta_graphs"][0]["signatures"][0]["inputs"][0]["shape"] == [None, 4]
    assert data["meta_graphs"][0]["init_op"] == "NoOp"  # the __saved_model_init_op output


def test_show_picks_a_version(saved_models, capsys):
    assert main(["show", saved_models["versioned"], "--version", "1", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1 and data["other_versions"] == [3]


def test_check_exit_codes(saved_models, capsys):
    assert main(["check", saved_models["simple_save"]]) == EXIT_OK
    out = capsys.readouterr().out
    assert "TF Serving: ready to serve" in out and "EAS: ready to serve" in out
    assert main(["check", saved_models["sparse_input"], "--target", "eas"]) == EXIT_CHECK_FAILED
    out = capsys.readouterr().out
    assert "EAS: will not serve" in out and "non-dense-tensor" in out and "TF Serving" not in out


def test_check_names_a_table_without_init_op(saved_models, capsys):
    assert main(["check", saved_models["table_simple_save"]]) == EXIT_CHECK_FAILED
    out = capsys.readouterr().out
    assert "TF Serving: will not serve" in out and "EAS: will not serve" in out
    assert "tables-not-initialized" in out and "legacy_init_op" in out
    assert main(["show", saved_models["table_simple_save"]]) == EXIT_OK
    assert "  init op: none\n" in capsys.readouterr().out


def test_check_json(saved_models, capsys):
    assert main(["check", saved_models["sparse_input"], "--json"]) == EXIT_CHECK_FAILED
    data = json.loads(capsys.readouterr().out)
    assert data["targets"]["eas"]["ready"] is False
    assert data["targets"]["tfserving"]["ready"] is True
    codes = {r["code"] for r in data["targets"]["eas"]["results"]}
    assert "non-dense-tensor" in codes


def test_unreadable_directory_exits_2_with_the_reason(tmp_path, capsys):
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n")
    assert main(["show", str(tmp_path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "Keras" in err


def test_stdout_closed_early_ends_quietly(saved_models):
    """``show --json | head``: the reader of the pipe goes away; no traceback follows."""
    import os
    import subprocess
    import sys

    from checkout_env import checkout_env

    reader, writer = os.pipe()
    os.close(reader)  # as `head` does once it has its lines
    try:
        result = subprocess.run(
            [sys.executable, "-m", "savedmodel_widgets", "show", "--json",
             saved_models["module"]],
            stdout=writer, stderr=subprocess.PIPE, env=checkout_env(), text=True,
            timeout=120, check=False,
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == EXIT_BROKEN_PIPE


def test_check_for_a_runtime(saved_models, capsys):
    path = saved_models["simple_save"]
    args = ["check", path, "--target", "eas", "--runtime", "eas:tensorflow_cpu_1.15"]
    assert main(args) == EXIT_CHECK_FAILED
    out = capsys.readouterr().out
    assert out.startswith("EAS on eas:tensorflow_cpu_1.15 (TensorFlow 1.15): will not serve")
    assert "attr-not-in-runtime" in out and "'grad_a'" in out

    assert main([*args[:-1], "installed", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["runtime"] == "installed"
    assert {r["runtime"] for r in data["targets"]["eas"]["results"]} <= {"installed"}

    assert main(["check", path, "--target", "eas"]) == EXIT_OK
    assert "runtime-not-chosen" in capsys.readouterr().out


def test_unknown_runtime_exits_2_and_lists_the_known_ones(saved_models, capsys):
    assert main(["check", saved_models["simple_save"], "--runtime", "eas:1.15"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Unknown runtime 'eas:1.15'" in err and "Known runtimes: eas:tensorflow_cpu_2.7" in err
