"""The widgets in a real JupyterLab, clicked through Debian's Chromium.

Traitlet tests cannot see a widget that fails to render, a layout that hides the
Export button, or an error in the browser; these tests look at the page. One
JupyterLab server (in a scratch root holding copies of the tutorial notebooks) and
one Chromium serve the whole test session; each scenario opens its notebook in a fresh
browser context, shuts its kernel down when it ends, and leaves a screenshot of its
final state in :data:`~jupyterlab_browser.SCREENSHOT_DIR`.

Every browser test lives in this module, so the module-scoped fixtures start the
server and the browser once per session; the scope also closes Playwright (and its
event loop) before the nbclient tests of other modules run theirs.

Without Playwright or Chromium the module is skipped, with a reason that says how to
install them; under CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from jupyterlab_browser import (
    JupyterLabServer,
    NotebookTab,
    browser_context,
    choose_option,
    export_status,
    launch_chromium,
    require_browser,
    signature_table,
    take_screenshot,
    type_into,
    write_notebook,
)
from notebook_runner import NOTEBOOK_DIR

require_browser()  # skips this module without Playwright or Chromium; fails it under CI

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.e2e

EXPORT_SECONDS_MS = 120_000
"""An export with its verification in a fresh process, as the browser waits for it."""

RELU_COUNT = 2000
"""ReLUs in the large TF1 graph: about 6,000 ops and 4,000 output candidates."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    """JupyterLab serving a scratch root with the tutorial notebooks and this module's own."""
    root = tmp_path_factory.mktemp("notebooks", numbered=False)
    for notebook in NOTEBOOK_DIR.glob("*.ipynb"):
        shutil.copy(notebook, root)
    write_notebook(root / "inspect_keras_export.ipynb", KERAS_EXPORT_CELL, INSPECT_CELL)
    write_notebook(root / "large_tf1_graph.ipynb", LARGE_GRAPH_CELL, LARGE_GRAPH_WIDGET_CELL)
    write_notebook(root / "deploy_keras_export.ipynb", DEPLOY_EXPORT_CELL, DEPLOY_INSPECT_CELL)
    with JupyterLabServer(root, tmp_path_factory.mktemp("lab-scratch")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, for the whole module."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def open_notebook(browser: object, lab: JupyterLabServer, name: str) -> Iterator[NotebookTab]:
    """Open ``name`` in a fresh browser context; close it and shut its kernel down after."""
    with browser_context(browser) as context:
        tab = NotebookTab(context.new_page(), lab, name)
        try:
            tab.open()
            yield tab
        finally:
            lab.shut_down_kernel(name)


@pytest.fixture(scope="module")
def start_here(browser: object, lab: JupyterLabServer) -> Iterator[NotebookTab]:
    """``00_start_here`` run up to its ExportWidget (not the cell that clicks for the reader)."""
    with open_notebook(browser, lab, "00_start_here.ipynb") as tab:
        tab.run_all_above(tab.code_cell("# WIDGET CLICKS:"))
        yield tab


# --- Scenario 1: export by clicking ---------------------------------------------------


def test_export_by_clicking_in_start_here(start_here: NotebookTab, lab: JupyterLabServer,
                                          tf: object) -> None:
    tab = start_here
    widget = tab.widget("w = smw.ExportWidget")
    expect(widget).to_be_visible()
    choose_option(widget.get_by_label("Model"), "model ")
    alias = widget.get_by_title("The alias a client uses for probabilities")
    expect(alias).to_have_value("probabilities")
    type_into(alias, "scores")
    type_into(widget.get_by_label("Signature").first, "predict_images")
    expect(widget.get_by_text("Writes export/digits/1.")).to_be_visible()

    export_button = widget.get_by_title("Export", exact=True)
    export_button.click()

    table = signature_table(widget, "predict_images")
    expect(table).to_be_visible(timeout=EXPORT_SECONDS_MS)
    rows = table_rows(table)
    assert rows[0][:4] == ["signature", "method", "direction", "alias"]
    assert {(row[0], row[2], row[3]) for row in rows[1:]} == {
        ("predict_images", "input", "image"), ("predict_images", "output", "scores")}
    expect(export_button).to_be_enabled(timeout=EXPORT_SECONDS_MS)
    expect(export_status(widget)).to_have_text(re.compile(
        r"^Exported to export/digits/1 in [\d.]+ s and verified in [\d.]+ s \([\d.]+ s in "
        r"all\)\. Verification: OK: 1 signature reloaded"))

    widget.get_by_role("tab", name="Files").click()
    tree = widget.locator("details", has_text="saved_model.pb").first
    expect(tree.get_by_text("saved_model.pb")).to_be_visible()
    expect(tree.get_by_text("variables.index")).to_be_visible()
    widget.get_by_role("tab", name="Signatures").click()
    expect(table).to_be_visible()
    take_screenshot(widget, "1_export_by_clicking")

    # The reader clicked instead of the marked cell: the rest of the notebook runs on.
    tab.run_all_below(tab.code_cell("w.result"))
    assert tab.error_outputs() == []
    printed = tab.code_cell("loaded = tf.saved_model.load").locator(".jp-OutputArea-output")
    predicted = re.search(r"predicted: \[(.*?)\]", printed.inner_text())
    assert predicted, printed.inner_text()

    saved_model = lab.root / "export" / "digits" / "1"
    loaded = tf.saved_model.load(str(saved_model))
    serve = loaded.signatures["predict_images"]
    rows_in, labels = digit_rows()
    scores = serve(image=tf.constant(rows_in))["scores"].numpy()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    assert (scores.argmax(axis=1) == labels).mean() > 0.8
    assert [int(v) for v in predicted.group(1).split()] == list(scores[:2].argmax(axis=1))
    assert tab.console_errors == []


# --- Scenario 2: an error shown in place ----------------------------------------------


def test_export_into_a_full_directory_shows_the_error_and_keeps_the_choices(
        start_here: NotebookTab) -> None:
    widget = start_here.widget("w = smw.ExportWidget")
    signature, directory = widget.get_by_label("Signature").first, widget.get_by_label("Directory")
    alias = widget.get_by_title("The alias a client uses for probabilities")
    type_into(signature, "predict_images")
    type_into(alias, "scores")
    type_into(directory, "export/digits_twice")
    widget.get_by_text("Verify after export").click()
    export_button = widget.get_by_title("Export", exact=True)
    expect(widget.get_by_text("Writes export/digits_twice/1.")).to_be_visible()
    status = export_status(widget)
    export_button.click()
    expect(status).to_have_text(re.compile(r"^Exported to export/digits_twice/1 in "),
                                timeout=EXPORT_SECONDS_MS)
    expect(widget.get_by_text("already holds files: tick Overwrite")).to_be_visible()

    export_button.click()
    error = status.locator(".savedmodel-widgets-error")
    expect(error).to_have_text(re.compile(r"^The target export/digits_twice/1 already holds "
                                          r"files .*Nothing was written"),
                               timeout=EXPORT_SECONDS_MS)
    expect(export_button).to_be_enabled()
    button_box, error_box = export_button.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (button_box["y"] + button_box["height"]) < 40

    expect(signature).to_have_value("predict_images")
    expect(directory).to_have_value("export/digits_twice")
    expect(alias).to_have_value("scores")
    take_screenshot(widget, "2_export_refused")
    assert start_here.console_errors == []


# --- Scenario 3: inspect an export ----------------------------------------------------

KERAS_EXPORT_CELL = """\
import keras

inputs = keras.Input((8,), name="image")
hidden = keras.layers.Dense(16, activation="relu")(inputs)
outputs = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
keras.Model(inputs, outputs).export("models/keras_export", verbose=False)"""

INSPECT_CELL = """\
%load_ext savedmodel_widgets
%savedmodel inspect models/keras_export"""


@pytest.fixture
def inspect_tab(browser: object, lab: JupyterLabServer) -> Iterator[NotebookTab]:
    with open_notebook(browser, lab, "inspect_keras_export.ipynb") as tab:
        yield tab


def test_inspect_widget_shows_the_tree_and_lists_the_checks(inspect_tab: NotebookTab) -> None:
    tab = inspect_tab
    tab.run_all()
    assert tab.error_outputs() == []
    widget = tab.widget("%load_ext")
    expect(widget.get_by_text("Inspect a SavedModel")).to_be_visible()
    expect(widget.get_by_label("Path")).to_have_value("models/keras_export")

    variables = widget.locator("details", has=tab.page.locator("summary code",
                                                               has_text="variables/")).first
    index_file = variables.get_by_text("variables.index")
    expect(index_file).to_be_visible()
    variables.locator("summary").first.click()
    expect(index_file).to_be_hidden()
    variables.locator("summary").first.click()
    expect(index_file).to_be_visible()

    widget.get_by_role("tab", name="Serving checks").click()
    for target in ("TF Serving", "EAS"):
        heading = re.compile(rf"^{target} on the installed TensorFlow \([\d.]+\): ready to serve")
        expect(widget.locator("summary", has_text=heading)).to_be_visible()
    expect(widget.get_by_text("generated-alias").first).to_be_visible()
    expect(widget.get_by_text("no-version-directory").first).to_be_visible()
    take_screenshot(widget, "3_inspect_checks")
    assert tab.console_errors == []


# --- Scenario 5: export for an EAS processor, then try it as an EAS client ------------


@pytest.fixture
def deploy_tab(browser: object, lab: JupyterLabServer, old_runtimes: object
               ) -> Iterator[NotebookTab]:
    """``06_deploy_to_eas`` run up to its ExportWidget (TensorFlow 1.15 already fetched)."""
    with open_notebook(browser, lab, "06_deploy_to_eas.ipynb") as tab:
        tab.run_all_above(tab.code_cell("# WIDGET CLICKS:"))
        yield tab


def test_export_for_an_eas_processor_and_try_it_by_the_eas_protocol(
        deploy_tab: NotebookTab, lab: JupyterLabServer) -> None:
    tab = deploy_tab
    assert tab.error_outputs() == []
    widget = tab.widget("w = smw.ExportWidget")
    expect(widget).to_be_visible()
    runtime = widget.get_by_label("Runtime")
    choose_option(runtime, "EAS tensorflow_cpu_1.15")
    expect(runtime.locator("option:checked")).to_have_text(
        "EAS tensorflow_cpu_1.15 (TensorFlow 1.15)")
    type_into(widget.get_by_title("The alias a client uses for probabilities"), "scores")
    export_button = widget.get_by_title("Export", exact=True)
    export_button.click()
    expect(export_button).to_be_enabled(timeout=EXPORT_SECONDS_MS)
    expect(export_status(widget)).to_have_text(re.compile(
        r"^Exported to export/eas_digits/1 .* Verification: OK: .*TensorFlow 1\.15"))

    widget.get_by_role("tab", name="Try it").click()
    widget.get_by_role("button", name="Start preview").click()
    send = widget.get_by_role("button", name="Send")
    expect(send).to_be_enabled(timeout=EXPORT_SECONDS_MS)
    widget.get_by_role("button", name="EAS", exact=True).click()
    send.click()
    expect(widget.get_by_text(re.compile(r"^Answered in [\d.]+ ms"))).to_be_visible(
        timeout=EXPORT_SECONDS_MS)
    expect(widget.get_by_text("from eas_prediction import PredictClient, TFRequest")
           ).to_be_visible()
    answer = widget.locator("table:has(th:text-is('values'))")
    expect(answer.locator("td").first).to_have_text("scores")
    expect(answer.locator("td").nth(2)).to_have_text("(1, 10)")
    take_screenshot(widget, "5_eas_export_and_try_it")
    widget.get_by_role("button", name="Stop").click()
    expect(widget.get_by_role("button", name="Start preview")).to_be_enabled()
    assert (lab.root / "export" / "eas_digits" / "1" / "saved_model.pb").is_file()
    assert tab.console_errors == []


# --- Scenario 4: the filter box on a large graph --------------------------------------

LARGE_GRAPH_CELL = f"""\
import tensorflow as tf

tf1 = tf.compat.v1
graph = tf.Graph()
with graph.as_default():
    hidden = tf1.placeholder(tf.float32, [None, 4], name="features")
    for _ in range({RELU_COUNT}):
        hidden = tf.nn.relu(hidden * 1.01)
    tf.nn.softmax(hidden, name="probabilities")
session = tf1.Session(graph=graph)
print(len(graph.get_operations()), "ops")"""

LARGE_GRAPH_WIDGET_CELL = """\
import savedmodel_widgets as smw

smw.ExportWidget(session)"""


@pytest.fixture
def large_graph_tab(browser: object, lab: JupyterLabServer) -> Iterator[NotebookTab]:
    with open_notebook(browser, lab, "large_tf1_graph.ipynb") as tab:
        yield tab


def test_filter_box_narrows_the_candidates_of_a_large_graph_as_the_user_types(
        large_graph_tab: NotebookTab) -> None:
    tab = large_graph_tab
    tab.run_all()
    assert tab.error_outputs() == []
    widget = tab.widget("import savedmodel_widgets")
    outputs = widget.locator(".widget-vbox", has=tab.page.get_by_text("Outputs", exact=True)
                             ).last
    matches = outputs.locator("select")
    count = outputs.get_by_text(re.compile(r"match|tensors"))
    expect(count).to_have_text(re.compile(r"of ([\d,]+) match; the first 100 are listed"))
    total = int(re.search(r"of ([\d,]+) match", count.inner_text()).group(1).replace(",", ""))
    assert total > 2 * RELU_COUNT  # a ReLU and a multiplication each, and more
    expect(matches.locator("option")).to_have_count(100)

    box = outputs.get_by_placeholder("Filter by name, dtype or op")
    box.press_sequentially("relu_")
    for key in "999":
        box.press(key)
        typed = box.input_value()
        expected = relus_containing(typed)
        expect(count).to_have_text(re.compile(rf"^{expected:,} of {total:,} match"))
        shown = matches.locator("option")
        expect(shown).to_have_count(min(expected, 100))
        assert all(typed in text.lower() for text in shown.all_inner_texts())

    expect(matches.locator("option")).to_have_text([re.compile(r"^Relu_999:0\b")])
    outputs.get_by_title("Add the selected tensor to the outputs").click()
    expect(outputs.get_by_title("The alias a client uses for Relu_999:0")).to_have_value(
        "relu_999")
    take_screenshot(widget, "4_filter_large_graph")
    assert tab.console_errors == []


# --- Scenario 6: write an EAS deployment kit from the Deploy tab ------------------------

DEPLOY_EXPORT_CELL = KERAS_EXPORT_CELL.replace("models/keras_export", "models/deploy_demo/1")

DEPLOY_INSPECT_CELL = """\
import savedmodel_widgets as smw

smw.InspectWidget("models/deploy_demo")"""


@pytest.fixture
def deploy_kit_tab(browser: object, lab: JupyterLabServer) -> Iterator[NotebookTab]:
    with open_notebook(browser, lab, "deploy_keras_export.ipynb") as tab:
        yield tab


def test_deploy_tab_writes_an_eas_kit_and_offers_its_files(deploy_kit_tab: NotebookTab,
                                                            lab: JupyterLabServer) -> None:
    tab = deploy_kit_tab
    tab.run_all()
    assert tab.error_outputs() == []
    widget = tab.widget("smw.InspectWidget")
    widget.get_by_role("tab", name="Deploy").click()
    choose_option(widget.get_by_label("Target", exact=True), "EAS tensorflow_cpu_1.15")
    name = widget.get_by_label("Service name")
    type_into(name, "Demo")
    expect(widget.get_by_text("the service name 'Demo' starts with 'D'")).to_be_visible()
    write = widget.get_by_role("button", name="Write")
    expect(write).to_be_disabled()
    type_into(name, "keras_demo")
    expect(write).to_be_enabled()
    write.click()
    expect(widget.get_by_text(re.compile(r"^Wrote 3 files for EAS tensorflow_cpu_1\.15"))
           ).to_be_visible(timeout=EXPORT_SECONDS_MS)
    for code in ("model-path-placeholder", "processor-refuses-model"):  # the kit's checks
        expect(widget.get_by_text(code, exact=True)).to_be_visible()

    links = widget.locator("a[download]")
    names = links.evaluate_all("links => links.map(a => a.getAttribute('download'))")
    assert any(link_name.endswith(".json") for link_name in names), names
    json_link = links.filter(has_text=re.compile(r"\.json$"))
    with tab.page.expect_download() as download:
        json_link.click()
    written = next(lab.root.rglob(json_link.inner_text()))
    assert download.value.path().read_bytes() == written.read_bytes()
    assert '"keras_demo"' in written.read_text()
    deploy_tab = widget.locator(".widget-vbox", has=tab.page.get_by_label("Service name")
                                ).filter(has=tab.page.get_by_text(re.compile(r"^Wrote "))).last
    tab.page.set_viewport_size({"width": 1280, "height": 3200})  # the tab with its kit
    take_screenshot(deploy_tab, "6_deploy_eas_kit")
    assert tab.console_errors == []


# --- helpers ----------------------------------------------------------------------------


def table_rows(table: object) -> list[list[str]]:
    """The cell texts of each row of an HTML table in the page."""
    return table.locator("tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


def digit_rows() -> tuple[np.ndarray, np.ndarray]:
    """The test rows of ``00_start_here``: its split of scikit-learn's digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = (digits.data / 16.0).astype("float32")
    _, x_test, _, y_test = train_test_split(pixels, digits.target, test_size=0.25,
                                            random_state=0)
    return x_test, y_test


def relus_containing(text: str) -> int:
    """How many of the large graph's ReLU outputs (``Relu``, ``Relu_1``, ...) contain ``text``."""
    names = ["relu"] + [f"relu_{i}" for i in range(1, RELU_COUNT)]
    return sum(text in name for name in names)
