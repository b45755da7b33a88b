"""The serve loader: SavedModels loaded as TF Serving loads them, in this process."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_widgets._serve_loader import error_message, load_for_serving, run_signature


def test_a_tf1_export_runs_with_numbers_cast_to_the_declared_dtype(saved_models):
    session, meta_graph_def = load_for_serving(saved_models["builder"])
    try:
        images = np.random.default_rng(0).random((3, 4))  # float64 for a float32 input
        outputs = run_signature(session, meta_graph_def, "predict_images", {"images": images})
    finally:
        session.close()
    assert sorted(outputs) == ["classes", "scores"]
    assert outputs["scores"].dtype == np.float32 and outputs["scores"].shape == (3, 3)
    assert set(outputs["classes"].tolist()) <= {b"cat", b"dog", b"bird"}  # the table is filled


def test_a_tf2_export_runs_each_signature(saved_models):
    session, meta_graph_def = load_for_serving(saved_models["module"])
    try:
        x = np.ones((2, 4), np.float32)
        logits = run_signature(session, meta_graph_def, "serving_default", {"x": x})["logits"]
        proba = run_signature(session, meta_graph_def, "predict_proba", {"x": x})
    finally:
        session.close()
    assert logits.shape == (2, 3)
    np.testing.assert_allclose(proba["probabilities"].sum(axis=1), 1.0, rtol=1e-6)


def test_unknown_names_are_refused_with_the_valid_ones(saved_models):
    session, meta_graph_def = load_for_serving(saved_models["builder"])
    try:
        with pytest.raises(KeyError, match="no signature 'serving_default'.*'predict_images'"):
            run_signature(session, meta_graph_def, "serving_default", {})
        with pytest.raises(KeyError, match="no input 'image'.*'images'"):
            run_signature(session, meta_graph_def, "predict_images", {"image": np.zeros((1, 4))})
    finally:
        session.close()


def test_tags_must_match_a_meta_graph_exactly(saved_models):
    with pytest.raises(RuntimeError, match="tags 'gpu' could not be found"):
        load_for_serving(saved_models["multi_tag"], ("gpu",))


def test_a_table_no_init_op_fills_fails_with_a_one_line_message(saved_models, tf):
    session, meta_graph_def = load_for_serving(saved_models["table_simple_save"])
    try:
        with pytest.raises(tf.errors.FailedPreconditionError) as caught:
            run_signature(session, meta_graph_def, "serving_default", {"images": np.ones((2, 4))})
    finally:
        session.close()
    assert error_message(caught.value) == (
        "FailedPreconditionError: Node: 'classes/LookupTableFindV2' Table not initialized.")
