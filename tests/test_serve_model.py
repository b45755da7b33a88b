"""ServedModel and ModelRepository in process: layouts, names, versions and load errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import serving_models

from savedmodel_widgets.errors import NotASavedModelError
from savedmodel_widgets.serving.model import ModelRepository, ServingError


@pytest.fixture(scope="module")
def half_plus_two(tf, tmp_path_factory):
    parent = tmp_path_factory.mktemp("model") / "half_plus_two"
    serving_models.write_half_plus_two_versions(tf, str(parent))
    return parent


def test_a_versioned_parent_serves_every_version_the_highest_by_default(half_plus_two):
    repository = ModelRepository(half_plus_two)
    try:
        assert repository.model_name == "half_plus_two"
        assert repository.versions == (123, 124)
        assert repository.get("half_plus_two").version == 124
        assert repository.get("half_plus_two", 123).version == 123
        assert repository.status("half_plus_two") == [124, 123]
        model = repository.get("half_plus_two")
        assert model.info.version == 124 and model.path.endswith("124")
        answer = model.predict(None, {"x": np.array([[1.0]], np.float32)})
        np.testing.assert_allclose(answer["y"], [[2.5]])
    finally:
        repository.close()


def test_a_version_directory_or_a_plain_directory_serves_one_model(half_plus_two, tmp_path):
    one = ModelRepository(half_plus_two / "123", model_name="hp")
    try:
        assert one.versions == (123,) and one.model_name == "hp"
        with pytest.raises(ServingError, match=r"Specific\(hp, 124\)"):
            one.get("hp", 124)
    finally:
        one.close()
    plain = tmp_path / "plain"
    shutil.copytree(half_plus_two / "124", plain)
    repository = ModelRepository(plain)
    try:
        assert repository.model_name == "plain" and repository.versions == (None,)
        # TF Serving needs a version directory; the preview answers as version 1
        assert repository.get("plain", 1) is repository.get("plain")
        assert repository.status("plain") == [1]
    finally:
        repository.close()


def test_unknown_names_get_tf_servings_not_found(half_plus_two):
    repository = ModelRepository(half_plus_two, model_name="hp")
    try:
        for call, message in (
            (lambda: repository.get("other"), "Servable not found for request: Latest(other)"),
            (lambda: repository.get("hp", 5), "Servable not found for request: Specific(hp, 5)"),
            (lambda: repository.status("other"), "Could not find any versions of model other"),
            (lambda: repository.status("hp", 5), "Could not find version 5 of model hp"),
        ):
            with pytest.raises(ServingError) as raised:
                call()
            assert (raised.value.code, raised.value.message) == ("NOT_FOUND", message)
    finally:
        repository.close()


def test_str_inputs_are_fed_as_utf8_bytes(tf, half_plus_two):
    repository = ModelRepository(half_plus_two)
    try:
        model = repository.get("half_plus_two")
        example = tf.train.Example()
        example.features.feature["x"].float_list.value.append(4.0)
        answer = model.predict("regress_x_to_y",
                               {"inputs": np.array([example.SerializeToString()], object)})
        np.testing.assert_allclose(answer["outputs"], [[4.0]])
        with pytest.raises(ServingError) as raised:  # text that is no tf.Example
            model.predict("regress_x_to_y", {"inputs": np.array(["not an example"])})
        assert raised.value.code == "INVALID_ARGUMENT"
        assert "Could not parse example input" in raised.value.message
    finally:
        repository.close()


def test_a_directory_without_a_savedmodel_and_a_model_that_does_not_load(half_plus_two,
                                                                          tmp_path):
    with pytest.raises(NotASavedModelError):
        ModelRepository(tmp_path)
    broken = tmp_path / "broken" / "1"
    shutil.copytree(half_plus_two / "123", broken)
    (broken / "variables" / "variables.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(ServingError) as raised:
        ModelRepository(broken.parent)
    assert raised.value.code == "FAILED_PRECONDITION"
    assert raised.value.message.startswith(f"Loading servable broken version 1 from {broken}")
