"""``smw.deployment_kit`` and ``python -m savedmodel_widgets deploy``: the files written for
EAS and TF Serving, read back, replayed against the preview server, and refused when they
would replace earlier ones.
"""

from __future__ import annotations

import json
import shutil
import tarfile

import numpy as np
import pytest
from serving_models import KERAS_NAME, sample_images, write_keras_classifier

import savedmodel_widgets as smw
from savedmodel_widgets.cli import main
from savedmodel_widgets.deploy.eas_warmup import read_eas_warmup
from savedmodel_widgets.deploy.replay import replay_warmup
from savedmodel_widgets.deploy.tfserving_warmup import read_tfserving_warmup
from savedmodel_widgets.errors import DeployError, DeployTargetExistsError

EAS_NAME = "classifier_eas"
"""The folder of version 1 of the classifier exported for ``eas:tensorflow_cpu_1.15``."""


@pytest.fixture(scope="module")
def classifier(tf, tmp_path_factory):
    """``(models root, {version: Keras model})``: ``root/classifier/1`` and ``/2`` exported
    for the installed TensorFlow, ``root/classifier_eas/1`` (version 1's model) for EAS's
    ``tensorflow_cpu_1.15``."""
    root = tmp_path_factory.mktemp("deploy_kit")
    models = write_keras_classifier(str(root / KERAS_NAME))
    smw.export(smw.suggest_spec(models[1], str(root / EAS_NAME), version=1,
                                runtime="eas:tensorflow_cpu_1.15"))
    return root, models


@pytest.fixture
def fresh_models(classifier, tmp_path):
    """A copy of the models root for a test that writes into the exports."""
    root, models = classifier
    copy = tmp_path / "models"
    shutil.copytree(root, copy)
    return copy, models


def test_eas_kit_writes_checks_and_replays(classifier, tmp_path):
    root, models = classifier
    export = root / EAS_NAME / "1"
    images = sample_images(3)
    kit = smw.deployment_kit(export, "eas:tensorflow_cpu_1.15", out=tmp_path / "eas",
                             service_name="classifier_demo", inputs={"image": images},
                             instances=2, cpu=4, memory=8000)
    assert set(kit.files) == {"archive", "service", "eas_warmup"}
    assert all(path.parent == tmp_path / "eas" for path in kit.files.values())

    service = json.loads(kit.files["service"].read_text())
    assert service["name"] == "classifier_demo"
    assert service["processor"] == "tensorflow_cpu_1.15"
    assert service["metadata"] == {"instance": 2, "cpu": 4, "memory": 8000}
    assert service["model_path"].endswith("/model.tar.gz")
    assert service["warm_up_data_path"].endswith("/warm_up.bin")
    codes = {finding.code for finding in kit.findings}
    # the OSS paths are still to be filled in
    assert {"model-path-placeholder", "warm-up-path-placeholder"} <= codes
    assert kit.ready, kit.summary()

    with tarfile.open(kit.files["archive"]) as archive:
        names = archive.getnames()
    assert "saved_model.pb" in names
    assert any(name.startswith("variables/variables.data") for name in names)

    request = read_eas_warmup(kit.files["eas_warmup"])
    assert request.signature_name == "serving_default"
    np.testing.assert_array_equal(request.inputs["image"], images)
    info = smw.read_saved_model(export)
    with smw.serve(export) as server:
        [answer] = replay_warmup(info, [request], server, protocol="eas")
    assert answer.ok, answer.error
    np.testing.assert_allclose(answer.outputs["scores"],
                               models[1].predict(images, verbose=0), atol=1e-5)
    assert "eascmd create" in kit.summary()
    assert "Deployment kit for EAS tensorflow_cpu_1.15" in kit._repr_html_()


def test_tfserving_kit_writes_warmup_config_and_docker_line(fresh_models):
    root, models = fresh_models
    export = root / KERAS_NAME / "2"
    images = sample_images(4, seed=1)
    kit = smw.deployment_kit(export, "tfserving:2.21", inputs={"image": images},
                             rows_per_request=1, version_policy="all")
    assert kit.files["tfserving_warmup"] == export / "assets.extra" / "tf_serving_warmup_requests"
    assert kit.files["models_config"] == root / "models.config"
    assert kit.ready, kit.summary()
    assert "tensorflow/serving:2.21.0" in kit.docker_command
    assert str(root) in kit.docker_command

    requests = read_tfserving_warmup(export)
    assert [r.batch_size for r in requests] == [1, 1, 1, 1]
    np.testing.assert_array_equal(np.concatenate([r.inputs["image"] for r in requests]), images)
    config = kit.files["models_config"].read_text()
    assert f'name: "{KERAS_NAME}"' in config and f'base_path: "/models/{KERAS_NAME}"' in config

    info = smw.read_saved_model(export)
    with smw.serve(root / KERAS_NAME) as server:  # both versions; 2 answers by default
        answers = replay_warmup(info, requests, server, protocol="rest")
    assert all(answer.ok for answer in answers), [a.error for a in answers]
    np.testing.assert_allclose(np.concatenate([a.outputs["scores"] for a in answers]),
                               models[2].predict(images, verbose=0), atol=1e-5)


def test_one_models_config_serves_several_models(fresh_models, tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    root, _ = fresh_models
    kit = smw.deployment_kit(root / KERAS_NAME / "2", "tfserving:2.21", version_policy="all",
                             more_models=[root / EAS_NAME])
    config = text_format.Parse(kit.files["models_config"].read_text(),
                               model_server_config_pb2.ModelServerConfig())
    served = {(c.name, c.base_path, c.model_version_policy.WhichOneof("policy_choice"))
              for c in config.model_config_list.config}
    assert served == {(KERAS_NAME, f"/models/{KERAS_NAME}", "all"),
                      (EAS_NAME, f"/models/{EAS_NAME}", "all")}
    assert "--model_config_file=/models/models.config" in kit.docker_command
    assert f"v1/models/{EAS_NAME}" in kit.summary()

    elsewhere = tmp_path / "elsewhere" / "other"
    shutil.copytree(root / EAS_NAME, elsewhere)
    with pytest.raises(DeployError, match="the folder the docker line mounts"):
        smw.deployment_kit(root / KERAS_NAME / "2", "tfserving:2.21", overwrite=True,
                           more_models=[elsewhere])
    with pytest.raises(DeployError, match="Two models are named"):
        smw.deployment_kit(root / KERAS_NAME / "2", "tfserving:2.21", overwrite=True,
                           model_name=EAS_NAME, more_models=[root / EAS_NAME / "1"])


def test_a_second_kit_is_refused_until_overwrite(classifier, tmp_path):
    root, _ = classifier
    export = root / EAS_NAME / "1"
    out = tmp_path / "eas"
    first = smw.deployment_kit(export, "tensorflow_cpu_1.15", out=out, service_name="first")
    before = {role: path.read_bytes() for role, path in first.files.items()}
    with pytest.raises(DeployTargetExistsError) as refused:
        smw.deployment_kit(export, "tensorflow_cpu_1.15", out=out, service_name="second")
    assert sorted(refused.value.paths) == sorted(str(p) for p in first.files.values())
    assert {role: path.read_bytes() for role, path in first.files.items()} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in first.files.values())

    again = smw.deployment_kit(export, "tensorflow_cpu_1.15", out=out, service_name="second",
                               overwrite=True)
    assert json.loads(again.files["service"].read_text())["name"] == "second"


@pytest.mark.parametrize("target", ["tf:1.15", "installed", "eas:tensorflow_cpu_9.9"])
def test_a_target_that_is_no_serving_system_is_refused(classifier, target, tmp_path):
    root, _ = classifier
    with pytest.raises(DeployError, match="tfserving:2.7") as refused:
        smw.deployment_kit(root / KERAS_NAME / "1", target, out=tmp_path)
    assert "eas:tensorflow_cpu_1.15" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_warmup_inputs_write_nothing(classifier, tmp_path):
    root, _ = classifier
    with pytest.raises(DeployError, match="takes \\(-1, 8\\)"):
        smw.deployment_kit(root / EAS_NAME / "1", "tensorflow_cpu_1.15", out=tmp_path,
                           inputs={"image": np.zeros((2, 5), "float32")})
    assert list(tmp_path.iterdir()) == []


def test_the_default_export_is_not_ready_for_tensorflow_1_15(classifier, tmp_path):
    root, _ = classifier
    kit = smw.deployment_kit(root / KERAS_NAME / "1", "eas:tensorflow_cpu_1.15", out=tmp_path)
    assert not kit.ready
    refused = [f for f in kit.findings if f.level == "error"]
    assert [f.code for f in refused] == ["processor-refuses-model"], refused
    assert "TensorFlow 1.15" in refused[0].message


def test_cli_deploy_eas_then_refuses_then_overwrites(classifier, tmp_path, capsys):
    root, _ = classifier
    export = str(root / EAS_NAME / "1")
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, image=sample_images(2))
    args = ["deploy", export, "--eas", "tensorflow_cpu_1.15", "--out", str(tmp_path / "kit"),
            "--service-name", "cli_demo", "--inputs", str(inputs), "--archive", "zip"]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ready"] and printed["target"] == "eas:tensorflow_cpu_1.15"
    assert printed["files"]["archive"].endswith("model.zip")
    assert printed["requests"] == [{"signature_name": "serving_default",
                                    "inputs": {"image": [2, 8]}}]

    assert main(args) == 2
    assert "already exist" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert "Next steps:" in capsys.readouterr().out


def test_cli_deploy_tfserving_prints_the_docker_line(fresh_models, capsys):
    root, _ = fresh_models
    code = main(["deploy", str(root / KERAS_NAME / "1"), "--tfserving", "2.21",
                 "--version-policy", "1,2", "--also", str(root / EAS_NAME)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "docker run" in out and "tensorflow/serving:2.21.0" in out
    config = (root / "models.config").read_text()
    assert "versions: 1" in config and "versions: 2" in config
    assert f'name: "{EAS_NAME}"' in config


def test_cli_deploy_bad_usage(classifier, capsys):
    root, _ = classifier
    export = str(root / KERAS_NAME / "1")
    assert main(["deploy", export, "--tfserving", "2.21", "--version-policy", "newest"]) == 2
    assert "--version-policy 'newest'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --eas and --tfserving exclude each other
        main(["deploy", export, "--eas", "tensorflow_cpu_1.15", "--tfserving", "2.7"])
