"""Time the ExportWidget in a real JupyterLab, as a person sees it in Chromium.

Each run opens a fresh notebook (so a fresh kernel) holding a small Keras model
(``00_start_here``'s digits model) and prints, as medians over the runs:

- seconds from running the cell that makes the widget to the widget being
  visible in the page (the kernel builds it, the browser draws it);
- seconds from clicking Export to the signature table being visible, beside
  the backend's own export time for the same click (``ExportResult.seconds``),
  and their ratio: what the widget adds on top of the export itself;
- seconds from clicking Export to the button being enabled again, which also
  covers the verification in a fresh Python process.

Needs Debian's Chromium at /usr/bin/chromium (or ``SMW_CHROMIUM``) and JupyterLab.

    python benchmarks/bench_widget_render.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from jupyterlab_browser import (  # noqa: E402
    JupyterLabServer,
    NotebookTab,
    browser_context,
    choose_option,
    launch_chromium,
    signature_table,
    type_into,
    write_notebook,
)

MODEL_CELL = """\
import keras
import numpy as np
import savedmodel_widgets as smw

keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(64,), name="image"),
    keras.layers.Dense(32, activation="relu", name="hidden"),
    keras.layers.Dense(10, activation="softmax", name="probabilities"),
], name="digits")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(np.random.rand(256, 64), np.random.randint(0, 10, 256), epochs=1, verbose=0)"""

WIDGET_CELL = 'w = smw.ExportWidget(model, directory="export/digits")\nw'

SECONDS_CELL = 'print(f"backend seconds: {w.result.seconds:.4f}")'

TIMEOUT_MS = 180_000


def time_one_run(tab: NotebookTab) -> tuple[float, float, float, float]:
    """(widget visible, table visible, button enabled again, backend export) seconds."""
    from playwright.sync_api import expect

    tab.open()
    widget_cell = tab.code_cell("w = smw.ExportWidget")
    tab.run_all_above(widget_cell)

    started = time.perf_counter()
    tab.run_cell(widget_cell)
    widget = tab.widget("w = smw.ExportWidget")
    widget.get_by_title("Export", exact=True).wait_for(timeout=TIMEOUT_MS)
    shown = time.perf_counter() - started
    tab.wait_executed(widget_cell)

    type_into(widget.get_by_label("Signature"), "predict_images")
    choose_option(widget.get_by_label("Version"), "auto")
    button = widget.get_by_title("Export", exact=True)
    expect(button).to_be_enabled()
    started = time.perf_counter()
    button.click()
    signature_table(widget, "predict_images").wait_for(timeout=TIMEOUT_MS)
    table = time.perf_counter() - started
    widget.locator('button[title="Export"]:enabled').wait_for(timeout=TIMEOUT_MS)
    verified = time.perf_counter() - started

    seconds_cell = tab.code_cell("print(f\"backend seconds")
    tab.run_cell(seconds_cell)
    tab.wait_executed(seconds_cell)
    printed = seconds_cell.locator(".jp-OutputArea-output").inner_text()
    backend = float(printed.split(":")[1])
    return shown, table, verified, backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh notebooks timed")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-widget-render-") as scratch:
        root, lab_scratch = Path(scratch, "root"), Path(scratch, "lab")
        root.mkdir()
        lab_scratch.mkdir()
        with JupyterLabServer(root, lab_scratch) as server, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for run in range(args.repeat):
                    name = f"render_{run}.ipynb"
                    write_notebook(root / name, MODEL_CELL, WIDGET_CELL, SECONDS_CELL)
                    with browser_context(browser) as context:
                        runs.append(time_one_run(NotebookTab(context.new_page(), server,
                                                             name)))
                    server.shut_down_kernel(name)
            finally:
                browser.close()

    shown, table, verified, backend = (
        statistics.median(column) for column in zip(*runs, strict=True))
    print(f"runs: {args.repeat} fresh notebooks, each with its own kernel")
    print(f"run the widget cell -> widget visible:     {shown:6.2f} s")
    print(f"click Export -> signature table visible:  {table:6.2f} s")
    print(f"backend export (ExportResult.seconds):    {backend:6.2f} s")
    print(f"ratio table visible / backend export:     {table / backend:6.2f}x")
    print(f"click Export -> verified, button enabled: {verified:6.2f} s")


if __name__ == "__main__":
    main()
