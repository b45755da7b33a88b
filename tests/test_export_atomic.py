"""SIGKILL an export process while it writes: the target is the old export or the new one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from savedmodel_widgets import export, read_saved_model, suggest_spec
from savedmodel_widgets.errors import TargetExistsError

WRITER = textwrap.dedent(
    """
    import sys
    import keras
    from savedmodel_widgets import export, suggest_spec

    inputs = keras.Input((2000,), name="wide")
    hidden = keras.layers.Dense(2000, name="hidden_1")(inputs)
    hidden = keras.layers.Dense(2000, name="hidden_2")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10, name="logits")(hidden))
    spec = suggest_spec(model, sys.argv[1], overwrite=True)
    while True:  # export again and again until killed
        export(spec, progress=lambda step: print(step.message, flush=True))
    """
)


def kill_during(target, marker, delay):
    """Start the writer, wait for a progress line starting with ``marker``, wait
    ``delay`` seconds more, SIGKILL it; return the lines it printed."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    lines = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as process:
        try:
            for line in process.stdout:
                lines.append(line.strip())
                if line.startswith(marker):
                    time.sleep(delay)
                    break
            else:
                pytest.fail(f"the writer stopped early: {lines}")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    return lines


def assert_complete(tf, target, old_alias):
    """The target holds a whole SavedModel: the old one, or the new one with all weights."""
    info = read_saved_model(target)
    assert not info.variables_error
    aliases = info.signature("serving_default").input_aliases
    if aliases == (old_alias,):
        return "old"
    assert aliases == ("wide",)
    assert sum(v.nbytes for v in info.variables) == 4 * (2000 * 2000 * 2 + 2000 * 10 + 4010)
    loaded = tf.saved_model.load(str(target))
    assert "serving_default" in loaded.signatures
    return "new"


@pytest.mark.parametrize(
    ("marker", "delay"),
    [("Writing", 0.05), ("Writing", 0.3), ("Moving", 0.0)],
    ids=["early-write", "late-write", "at-rename"],
)
def test_sigkill_leaves_the_old_or_the_complete_new_export(tf, tf_module, tmp_path, marker,
                                                           delay):
    target = tmp_path / "model"
    export(suggest_spec(tf_module, target))
    lines = kill_during(target, marker, delay)
    assert any(line.startswith(marker) for line in lines)
    state = assert_complete(tf, target, old_alias="x")
    assert state in ("old", "new")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model"]
    assert all(name.startswith(".model.") for name in leftovers), leftovers
    # The next export clears what the killed process left behind.
    export(suggest_spec(tf_module, target, overwrite=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_target_filled_by_another_process_meanwhile_is_kept(tf_module, tmp_path):
    """Another process writes the target while this export is being written (simulated in
    the last step before the rename): a fixed version is refused with a TargetExistsError
    and the other export kept; with version="auto" the next free number is taken."""
    def fill_when_moving(target):
        def progress(step):
            if step.message.startswith("Moving"):
                target.mkdir(parents=True)
                (target / "saved_model.pb").write_bytes(b"the other export")
        return progress

    fixed = tmp_path / "fixed"
    with pytest.raises(TargetExistsError, match="Another process wrote"):
        export(suggest_spec(tf_module, fixed, version=1), progress=fill_when_moving(fixed / "1"))
    assert (fixed / "1" / "saved_model.pb").read_bytes() == b"the other export"
    assert [p.name for p in fixed.iterdir()] == ["1"]  # no staging directory left behind

    auto = tmp_path / "auto"
    result = export(suggest_spec(tf_module, auto, version="auto"),
                    progress=fill_when_moving(auto / "1"))
    assert result.path == auto / "2" and result.version == 2
    assert (auto / "1" / "saved_model.pb").read_bytes() == b"the other export"
    assert read_saved_model(result.path).signatures
