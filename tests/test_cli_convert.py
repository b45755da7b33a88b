"""``python -m savedmodel_widgets convert``: run in-process through ``main`` (TensorFlow is
imported once per session) and once as a real process. Every conversion is reloaded with
TensorFlow and compared with what the model that wrote the file predicted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

import savedmodel_widgets as smw
from savedmodel_widgets.cli import EXIT_BAD_INPUT, EXIT_OK, main

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
USER_MODULE = "cli_user_models"
"""A module of the user's model code, written into the current directory by ``user_module``."""


def convert(capsys, *args: object) -> tuple[int, str, str]:
    """Run ``convert`` in-process: ``(exit code, stdout, stderr)``."""
    code = main(["convert", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def served(tf, path, signature="serving_default", **inputs):
    """Reload a SavedModel with TensorFlow and run one signature: ``{alias: array}``."""
    loaded = tf.saved_model.load(str(path))
    return {key: value.numpy() for key, value in loaded.signatures[signature](**inputs).items()}


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """Write ``cli_user_models.py`` (a builder and a custom layer) and work in its directory."""
    (tmp_path / f"{USER_MODULE}.py").write_text(
        "from model_files import build_scale_layer, build_small_keras\n\n"
        "Scale = build_scale_layer()\n\n\n"
        "def build_model():\n"
        "    return build_small_keras()\n"
    )
    monkeypatch.chdir(tmp_path)
    yield USER_MODULE
    sys.modules.pop(USER_MODULE, None)


# Conversions ----------------------------------------------------------------------------


def test_tf1_checkpoint_converts_as_in_the_reference(tf, model_files, tmp_path, capsys):
    out = tmp_path / "lr"
    code, stdout, stderr = convert(capsys, model_files.root / "tf1_run", "--out", out,
                                   "--input", "image=x:0", "--output", "scores=scores:0",
                                   "--signature", "predict_images")
    assert code == EXIT_OK, stderr
    assert stdout.startswith(f"Exported {out}: ")
    assert "signature 'predict_images'" in stdout and "TF Serving: ready to serve" in stdout
    assert "... Restoring the values of model.ckpt-1000" in stderr
    got = served(tf, out, "predict_images", image=model_files.X)
    assert list(got) == ["scores"]
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)


def test_keras_file_with_defaults_and_auto_versions(tf, model_files, tmp_path, capsys):
    out = tmp_path / "scores"
    for version in (1, 2):
        code, stdout, stderr = convert(capsys, model_files.root / "keras3.keras", "--out", out,
                                       "--version", "auto")
        assert code == EXIT_OK, stderr
        assert stdout.startswith(f"Exported {out / str(version)}: ")
        got = served(tf, out / str(version), image=model_files.IMAGE, meta=model_files.META)
        assert_allclose(got["scores"], model_files.predictions["keras3"], **TOLERANCE)
    assert sorted(p.name for p in out.iterdir()) == ["1", "2"]


def test_bare_tensor_names_keep_their_suggested_aliases(tf, model_files, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    code, _, stderr = convert(capsys, model_files.root / "keras3.keras", "--out", mixed,
                              "--input", "photo=image", "--input", "meta",
                              "--output", "embedding", "--output", "scores")
    assert code == EXIT_OK, stderr
    signature = smw.read_saved_model(mixed).signature()
    assert sorted(signature.input_aliases) == ["meta", "photo"]
    assert sorted(signature.output_aliases) == ["embedding", "scores"]
    got = served(tf, mixed, photo=model_files.IMAGE, meta=model_files.META)
    assert got["embedding"].shape == (5, 16)
    assert_allclose(got["scores"], model_files.predictions["keras3"], **TOLERANCE)

    # A bare name whose suggested alias is already taken gets the next free one.
    taken = tmp_path / "taken"
    code, _, stderr = convert(capsys, model_files.root / "keras3.keras", "--out", taken,
                              "--input", "image=meta", "--input", "image")
    assert code == EXIT_OK, stderr
    got = served(tf, taken, image=model_files.META, image_1=model_files.IMAGE)
    assert_allclose(got["scores"], model_files.predictions["keras3"], **TOLERANCE)


def test_model_option_imports_a_builder_from_the_current_directory(tf, model_files, tmp_path,
                                                                   user_module, capsys):
    out = tmp_path / "out"
    code, _, stderr = convert(capsys, model_files.root / "tf2_run", "--out", out,
                              "--model", f"{user_module}:build_model")
    assert code == EXIT_OK, stderr
    assert str(tmp_path) not in sys.path  # put there only while converting
    got = served(tf, out, features=model_files.WIDE)
    assert_allclose(got["out"], model_files.predictions["tf2"], **TOLERANCE)


def test_custom_object_option_loads_a_custom_layer(tf, model_files, tmp_path, user_module,
                                                   capsys):
    out = tmp_path / "out"
    code, _, stderr = convert(capsys, model_files.root / "custom.keras", "--out", out,
                              "--custom-object", f"{user_module}:Scale")
    assert code == EXIT_OK, stderr
    got = served(tf, out, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["custom"], **TOLERANCE)


def test_lambda_layers_need_trust(tf, model_files, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = convert(capsys, model_files.root / "lambda.keras", "--out", out)
    assert code == EXIT_BAD_INPUT and not stdout
    assert stderr.startswith("error: ") and "'double'" in stderr and "--trust" in stderr
    assert not out.exists()

    code, _, stderr = convert(capsys, model_files.root / "lambda.keras", "--out", out, "--trust")
    assert code == EXIT_OK, stderr
    got = served(tf, out, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["lambda"], **TOLERANCE)


def test_json_output(tf, model_files, tmp_path, capsys):
    out = tmp_path / "legacy"
    code, stdout, stderr = convert(capsys, model_files.root / "keras2.h5", "--out", out,
                                   "--version", "7", "--json")
    assert code == EXIT_OK, stderr
    data = json.loads(stdout)
    info = smw.read_saved_model(out / "7")
    assert data["path"] == str(out / "7") and data["bytes"] == info.total_bytes
    assert data["seconds"] > 0
    assert data["info"] == json.loads(json.dumps(info.to_dict()))
    assert {target: result["ready"] for target, result in data["checks"].items()} == {
        "tfserving": True, "eas": True}
    got = served(tf, out / "7", pixels=model_files.PIXELS)
    assert_allclose(got["probabilities"], model_files.predictions["keras2"], **TOLERANCE)


# --list -----------------------------------------------------------------------------------


def test_list_prints_every_candidate_and_writes_nothing(model_files, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = convert(capsys, model_files.root / "tf1_run", "--list", "--out", out)
    assert code == EXIT_OK, stderr
    assert not out.exists()
    lines = stdout.splitlines()
    assert lines[0].startswith("model.ckpt-1000: TF1 checkpoint")
    assert "  Other checkpoints beside it: model.ckpt-500." in lines
    with smw.load_model_file(model_files.root / "tf1_run") as loaded:
        candidates = loaded.source.candidates()
    rows = {line.split()[-1]: line.split() for line in lines if line.startswith("  ")}
    for candidate in candidates:  # one line each: role, dtype, shape, op, name
        row = rows[candidate.name]
        assert row[:2] == [candidate.role, candidate.dtype] and row[-2] == candidate.detail
    assert rows["x:0"][2:4] == ["(None,", "4)"] and rows["scores:0"][-2] == "Softmax"
    assert f"{len(candidates)} candidate tensors:" in lines
    assert "  --input x=x:0 --input temperature=temperature:0" in lines


def test_list_json(model_files, capsys):
    code, stdout, stderr = convert(capsys, model_files.root / "keras3.keras", "--list", "--json")
    assert code == EXIT_OK, stderr
    data = json.loads(stdout)
    assert data["file"].startswith("keras3.keras: Keras 3 model (.keras)")
    by_name = {candidate["name"]: candidate for candidate in data["candidates"]}
    assert set(by_name) == {"image", "meta", "scores", "joined", "embedding", "dropout"}
    assert by_name["image"] == {"name": "image", "role": "input", "dtype": "float32",
                                "shape": [None, 8], "detail": "Input", "alias": "image"}
    assert data["suggested"] == {"inputs": {"image": "image", "meta": "meta"},
                                 "outputs": {"scores": "scores"}}


# Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "options", "expected"), [
    ("missing.h5", [], ["missing.h5", "No such file"]),
    ("tf1_run", ["--input", "image=y:0"], ["no input tensor called 'y:0'", "'x:0'",
                                           "'temperature:0'"]),
    ("tf1_run", ["--output", "nothing:0"], ["no output tensor called 'nothing:0'",
                                            "'scores:0'"]),
    ("tf2_run", [], ["TF2 object checkpoint", "model=", "--model MODULE:FUNCTION"]),
    ("small.weights.h5", [], ["weights only", "model=", "--model MODULE:FUNCTION"]),
    ("custom.keras", [], ["'Scale'", "--custom-object MODULE:Scale"]),
], ids=["missing-file", "bad-input", "bad-output", "needs-code", "weights-only", "custom"])
def test_bad_input_exits_2_and_writes_nothing(model_files, tmp_path, capsys, file, options,
                                              expected):
    out = tmp_path / "out"
    code, stdout, stderr = convert(capsys, model_files.root / file, "--out", out, *options)
    assert code == EXIT_BAD_INPUT and not stdout
    error = stderr[stderr.index("\nerror: ") + 1:] if "\nerror: " in stderr else stderr
    assert error.startswith("error: ")
    for text in expected:
        assert text in error
    assert not out.exists()


def test_existing_target_needs_overwrite(tf, model_files, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, stdout, stderr = convert(capsys, model_files.root / "keras2.h5", "--out", out)
    assert code == EXIT_BAD_INPUT and not stdout
    assert "already holds files (notes.txt)" in stderr
    assert "On the command line: --overwrite, or --version auto." in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]

    code, _, stderr = convert(capsys, model_files.root / "keras2.h5", "--out", out, "--overwrite")
    assert code == EXIT_OK, stderr
    assert not (out / "notes.txt").exists()
    got = served(tf, out, pixels=model_files.PIXELS)
    assert_allclose(got["probabilities"], model_files.predictions["keras2"], **TOLERANCE)


@pytest.mark.parametrize(("option", "expected"), [
    ("--model=no_such_module_here:build", "cannot import 'no_such_module_here'"),
    (f"--model={USER_MODULE}:no_such_function", "has no 'no_such_function'"),
    ("--custom-object=Scale", "write MODULE:NAME"),
], ids=["no-module", "no-function", "no-colon"])
def test_import_failures_exit_2(model_files, tmp_path, user_module, capsys, option, expected):
    out = tmp_path / "out"
    code, stdout, stderr = convert(capsys, model_files.root / "tf2_run", "--out", out, option)
    assert code == EXIT_BAD_INPUT and not stdout
    assert stderr.startswith("error: ") and expected in stderr
    assert not out.exists()


@pytest.mark.parametrize(("options", "expected"), [
    ([], "--out DIR is required"),
    (["--out", "x", "--input", "=x:0"], "write ALIAS=TENSOR"),
    (["--out", "x", "--input", "image="], "write ALIAS=TENSOR"),
    (["--out", "x", "--output", "a=b", "--output", "a=c"], "the alias a more than once"),
    (["--out", "x", "--version", "two"], "give a version number or 'auto'"),
    (["--out", "x", "--method", "guess"], "invalid choice: 'guess'"),
], ids=["no-out", "empty-alias", "empty-tensor", "repeated-alias", "bad-version",
        "bad-method"])
def test_usage_errors_exit_2(tmp_path, capsys, options, expected):
    with pytest.raises(SystemExit) as stopped:
        main(["convert", str(tmp_path / "model.h5"), *options])
    assert stopped.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m savedmodel_widgets convert") and expected in err


# A real process -----------------------------------------------------------------------------


def test_convert_as_a_process(tf, model_files, tmp_path):
    out = tmp_path / "export"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "savedmodel_widgets", "convert",
         str(model_files.root / "tf1_run"), "--out", str(out), "--version", "auto",
         "--input", "image=x:0", "--output", "scores=scores:0", "--output", "classes:0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith(f"Exported {out / '1'}: ")
    assert "] Done: " in result.stderr  # numbered steps: "... [6/6] Done: ..."
    got = served(tf, out / "1", image=model_files.X)
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)
    assert list(got["classes"]) == list(model_files.predictions["tf1_classes"])
