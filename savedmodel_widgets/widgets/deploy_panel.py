"""The *Deploy* tab: the files a serving team needs, written for an EAS processor or a TF
Serving release, their checks, download links, and a replay of the warm-up requests.

A thin view over the deploy backend: *Write* is one call of
:func:`~savedmodel_widgets.deploy.kit.deployment_kit`; *Replay warm-up* starts the preview server
(:func:`~savedmodel_widgets.serve`), sends the kit's warm-up requests with
:func:`~savedmodel_widgets.deploy.replay.replay_warmup` and stops the server.
"""

from __future__ import annotations

import base64
import contextlib
import mimetypes
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from ..deploy.archive import extract_model_archive
from ..deploy.eas_service import MODEL_PATH_PLACEHOLDER, service_name_problem
from ..deploy.kit import DeploymentKit, deployment_files, deployment_kit, deployment_targets
from ..deploy.replay import replay_warmup
from ..deploy.requests import MAX_WARMUP_REQUESTS, WarmupRequest, predict_signatures
from ..errors import DeployError
from ..runtimes.catalogue import Runtime, get_runtime
from ..savedmodel.info import DEFAULT_SIGNATURE, SavedModelInfo
from ..savedmodel.text import count_text, format_bytes
from ..serving.client_code import Protocol as ClientProtocol
from ..serving.try_request import TryResult
from ._close import close_tree
from ._status import error_html, failure_text, note_html, ok_html
from .input_choices import InputChoices, notebook_arrays

__all__ = [
    "DOWNLOAD_LIMIT",
    "DeployPanel",
    "default_target",
    "downloads_html",
    "files_text",
    "replay_html",
]

DOWNLOAD_LIMIT = 5_000_000
"""Files up to this many bytes are offered as download links; a larger one (a big model
archive) is named by its path instead. A link carries the file in the widget's state
(a third larger, as base64), which a saved notebook keeps."""

ARCHIVE_FORMATS = ((".tar.gz", "tar.gz"), (".zip", "zip"))

EVERY_SIGNATURE = ""
"""The warm-up signature choice that warms up every predict signature (TF Serving)."""

REPLAY_PROTOCOLS: dict[str, ClientProtocol] = {"eas": "eas", "tfserving": "rest"}
"""How the warm-up requests are replayed for each kind of target: as the server sends them."""

_WIDE = {"width": "34em"}
_NUMBER = {"width": "16em"}
_LABEL = {"description_width": "8em"}
_SHORT_LABEL = {"description_width": "initial"}


def default_target(runtime: str | Runtime | None = None) -> str:
    """The target the Deploy tab starts with for an export made for ``runtime``.

    An EAS processor or TF Serving release is kept; for a TensorFlow release (or the
    installed TensorFlow, the default) it is the TF Serving release of that number, or the
    newest TF Serving release when there is none.
    """
    chosen = get_runtime(runtime)
    names = [target.name for target in deployment_targets()]
    if chosen.name in names:
        return chosen.name
    same_release = f"tfserving:{chosen.release}"
    return same_release if same_release in names else next(
        name for name in names if name.startswith("tfserving:"))


class DeployPanel(widgets.VBox):
    """Write the deployment files of a SavedModel for an EAS processor or TF Serving.

    Parameters
    ----------
    namespace : mapping of str to object, optional
        Where to look for arrays to warm the model up with; by default the notebook's
        variables.
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Examples
    --------
    >>> panel = DeployPanel()                                    # doctest: +SKIP
    >>> info = read_saved_model("export/digits/1")               # doctest: +SKIP
    >>> panel.set_model(info, runtime="eas:tensorflow_cpu_1.15")  # doctest: +SKIP
    >>> panel.service_name.value = "digits"                      # doctest: +SKIP
    >>> panel.write_button.click(); panel.kit.files              # doctest: +SKIP
    >>> panel.replay_button.click(); [r.ok for r in panel.replayed]  # doctest: +SKIP
    """

    kit = traitlets.Instance(DeploymentKit, allow_none=True,
                             help="What the last Write wrote, or None.")
    error = traitlets.Unicode("", help="The last error shown; empty when none.")
    replayed = traitlets.List(traitlets.Instance(TryResult),
                              help="The preview server's answer to each warm-up request of "
                                   "the last replay, in order.")

    def __init__(self, namespace: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.namespace = namespace
        self.info: SavedModelInfo | None = None
        self.target = widgets.Dropdown(
            options=[(target.title, target.name) for target in deployment_targets()],
            value=default_target(), description="Target", layout=_WIDE, style=_LABEL,
            tooltip="The server the files are for: an EAS processor or a TF Serving release")
        self.service_name = widgets.Text(description="Service name", layout=_WIDE, style=_LABEL,
                                         placeholder="a name unique in your EAS region")
        self.service_name_note = widgets.HTML()
        self.model_path = widgets.Text(
            description="Archive URL", layout=_WIDE, style=_LABEL,
            placeholder=MODEL_PATH_PLACEHOLDER,
            tooltip="The service's model_path: where you upload the archive (oss:// or http://)")
        self.instances = widgets.BoundedIntText(1, min=1, max=1000, description="Instances",
                                                layout=_NUMBER, style=_LABEL)
        self.cpu = widgets.BoundedIntText(1, min=1, max=256, description="CPU",
                                          layout=_NUMBER, style=_SHORT_LABEL)
        self.memory = widgets.BoundedIntText(4000, min=100, max=2_000_000,
                                             description="Memory (MB)", layout=_NUMBER,
                                             style=_SHORT_LABEL)
        self.archive_format = widgets.Dropdown(options=ARCHIVE_FORMATS, value="tar.gz",
                                               description="Archive type", layout=_NUMBER,
                                               style=_LABEL)
        self.eas_options = widgets.VBox([
            self.service_name, self.service_name_note, self.model_path,
            widgets.HBox([self.instances, self.cpu, self.memory]), self.archive_format])
        self.model_name = widgets.Text(
            description="Served as", layout=_WIDE, style=_LABEL,
            placeholder="the name of the folder that holds the versions",
            tooltip="TF Serving's model name: clients call /v1/models/<name>")
        self.version_policy = widgets.Dropdown(
            description="Load", layout=_WIDE, style=_LABEL,
            tooltip="Which versions TF Serving loads (models.config's version policy)")
        self.rows_per_request = widgets.BoundedIntText(
            0, min=0, max=MAX_WARMUP_REQUESTS, description="Rows per request", layout=_NUMBER,
            style=_LABEL,
            tooltip="Split the warm-up arrays into requests of this many rows (1: a request "
                    "per example); 0 sends each signature's rows in one request")
        self.tfserving_options = widgets.VBox([self.model_name, self.version_policy,
                                               self.rows_per_request])
        self.warmup_signature = widgets.Dropdown(
            description="Warm up", layout=_WIDE, style=_LABEL,
            tooltip="The signature the warm-up requests call; EAS's warm-up file holds one "
                    "request, so choose the one production clients call")
        self.warmup_box = widgets.VBox()
        self.input_choices: dict[str, InputChoices] = {}
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="List the notebook's arrays again")
        self.out = widgets.Text(description="Output folder", layout=_WIDE, style=_LABEL)
        self.overwrite = widgets.Checkbox(description="Replace existing files", indent=False)
        self.files_note = widgets.HTML()
        self.write_button = widgets.Button(description="Write", icon="save",
                                           button_style="primary", disabled=True)
        self.status = widgets.HTML()
        self.kit_view = widgets.HTML()
        self.downloads = widgets.HTML()
        self.replay_button = widgets.Button(
            description="Replay warm-up", icon="play", disabled=True,
            tooltip="Send the warm-up requests to a preview server, as the server does at load")
        self.replay_view = widgets.HTML()
        self.result_box = widgets.VBox([self.status, self.kit_view, self.downloads,
                                        self.replay_button, self.replay_view])
        super().__init__([
            self.target, self.eas_options, self.tfserving_options,
            widgets.HTML("<b>Warm-up requests</b>"), self.warmup_signature, self.warmup_box,
            self.refresh_button,
            self.out, self.overwrite, self.files_note, self.write_button, self.result_box,
        ], **kwargs)
        self._wire()
        self.set_model(None)

    @property
    def choices(self) -> tuple[widgets.ValueWidget, ...]:
        """Every control whose ``value`` changes what Write writes (the inputs aside)."""
        return (self.target, self.service_name, self.model_path, self.instances, self.cpu,
                self.memory, self.archive_format, self.model_name, self.version_policy,
                self.rows_per_request, self.warmup_signature, self.out, self.overwrite)

    def _wire(self) -> None:
        for control in self.choices:
            control.observe(lambda change: self._on_choice(), "value")
        self.target.observe(lambda change: self._show_target_options(), "value")
        self.warmup_signature.observe(lambda change: self._show_warmup_inputs(), "value")
        self.write_button.on_click(lambda button: self.write())
        self.replay_button.on_click(lambda button: self.replay())
        self.refresh_button.on_click(lambda button: self.refresh_inputs())

    # Public ----------------------------------------------------------------------

    def set_model(self, info: SavedModelInfo | None, runtime: str | None = None) -> None:
        """Offer to write the files of ``info``; ``runtime`` (the one the export was made
        for) chooses the target, see :func:`default_target`."""
        self.info = info
        if runtime is not None:
            self.target.value = default_target(runtime)
        self.kit = None
        self.replayed = []
        self.kit_view.value = self.downloads.value = self.replay_view.value = ""
        self.replay_button.disabled = True
        versions: list[tuple[str, Any]] = [("the latest version", "latest"),
                                           ("all versions", "all")]
        if info is not None and info.version is not None:
            versions.append((f"version {info.version} only", (info.version,)))
        kept = self.version_policy.value
        self.version_policy.options = versions
        self.version_policy.value = kept if kept in dict(versions).values() else "latest"
        self.refresh_inputs()
        self._show_target_options()
        self._clear_error()
        self._update_files_note()

    def suggest_target(self, runtime: str | None) -> None:
        """Choose the target for an export made for ``runtime`` (see :func:`default_target`)."""
        self.target.value = default_target(runtime)

    def refresh_inputs(self) -> None:
        """One input chooser per input of each predict signature: sample values or a
        notebook array."""
        arrays = notebook_arrays(self.namespace)
        signatures = predict_signatures(self.info) if self.info is not None else []
        replaced = list(self.warmup_box.children)
        self.input_choices = {}
        blocks: list[widgets.Widget] = []
        for signature in signatures:
            choices = InputChoices()
            choices.show([tensor.alias for tensor in signature.inputs], arrays)
            for dropdown in choices.dropdowns.values():
                dropdown.observe(lambda change: self._on_choice(), "value")
            self.input_choices[signature.name] = choices
            blocks.append(widgets.VBox([
                widgets.HTML(f"<code>{escape(signature.name)}</code>"), choices]))
        if self.info is not None and not signatures:
            blocks.append(widgets.HTML(note_html("No predict signature: nothing to warm up.")))
        self.warmup_box.children = blocks
        for widget in replaced:
            close_tree(widget)
        self._offer_signatures()

    def write(self) -> DeploymentKit | None:
        """What the Write button does: one call of
        :func:`~savedmodel_widgets.deploy.kit.deployment_kit` with the choices shown.

        Returns
        -------
        DeploymentKit or None
            None when nothing was written; the reason is in :attr:`error` and shown in
            place, and the choices are kept.
        """
        if self.info is None:
            return None
        self.write_button.disabled = True
        self.write_button.description = "Writing…"
        try:
            kit = deployment_kit(self.info.path, self.target.value, **self._options())
        except Exception as error:  # every refusal is shown in place
            self._fail(error)
            return None
        finally:
            self.write_button.description = "Write"
            self._update_files_note()
        self.kit = kit
        self.replayed = []
        self.kit_view.value = kit._repr_html_()
        self.downloads.value = downloads_html(kit.files)
        self.replay_view.value = ""
        self.replay_button.disabled = not kit.requests
        self._clear_error()
        written = f"Wrote {count_text(len(kit.files), 'file')} for {kit.target.title}"
        self.status.value = (ok_html(f"{written}; the checks below found no error.")
                             if kit.ready else
                             error_html(f"{written}; the checks below found errors: fix them "
                                        "before deploying."))
        return kit

    def replay(self) -> list[TryResult]:
        """What the Replay warm-up button does: serve the model on the preview server (for
        EAS, the model archive unpacked, as EAS unpacks it), send it the kit's warm-up
        requests as the target's server does, stop the server.

        Returns
        -------
        list of TryResult
            One answer per request (also in :attr:`replayed`); empty when the server
            could not start (the status says why).
        """
        kit, info = self.kit, self.info
        if kit is None or info is None:
            return []
        from ..serving.server import serve

        protocol = REPLAY_PROTOCOLS[kit.target.server]
        self.replay_button.disabled = True
        archive = kit.files.get("archive")
        serving = f"{archive.name} unpacked" if archive else kit.path
        self.status.value = note_html(f"Starting a preview server for {serving}…")
        try:
            with contextlib.ExitStack() as stack:
                served = kit.path if archive is None else _unpacked(archive, stack)
                server = stack.enter_context(serve(served))
                answers = replay_warmup(info, kit.requests, server, protocol=protocol)
        except Exception as error:  # shown in place
            self._fail(error)
            return []
        finally:
            self.replay_button.disabled = False
        self.replayed = answers
        self.replay_view.value = replay_html(kit.requests, answers)
        refused = sum(not answer.ok for answer in answers)
        sent = (f"{count_text(len(answers), 'warm-up request')} sent by "
                f"{'the EAS protocol' if protocol == 'eas' else 'TF Serving REST'}")
        if refused:
            self._fail(DeployError(f"The preview server ({serving}) refused {refused} of the "
                                   f"{sent}."))
        else:
            every = "the" if len(answers) == 1 else "all"
            self.status.value = ok_html(f"The preview server ({serving}) answered {every} "
                                        f"{sent}.")
        return answers

    # Helpers ---------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        """The keyword arguments of ``deployment_kit`` besides the path and the target."""
        warmed_up = self._warmed_up()
        inputs = {name: arrays for name in warmed_up
                  if (arrays := self.input_choices[name].chosen_arrays(self.namespace))}
        every = self.warmup_signature.value in (EVERY_SIGNATURE, None)
        options: dict[str, Any] = {"out": self.out.value.strip() or None,
                                   "inputs": inputs or None,
                                   "signature_names": None if every else warmed_up,
                                   "overwrite": self.overwrite.value}
        if self._server() == "eas":
            options.update(service_name=self.service_name.value.strip() or None,
                           model_path=self.model_path.value.strip() or None,
                           instances=self.instances.value, cpu=self.cpu.value,
                           memory=self.memory.value, archive_format=self.archive_format.value)
        else:
            options.update(model_name=self.model_name.value.strip() or None,
                           version_policy=self.version_policy.value,
                           rows_per_request=self.rows_per_request.value or None)
        return options

    def _server(self) -> str:
        return get_runtime(self.target.value).server

    def _show_target_options(self) -> None:
        eas = self._server() == "eas"
        self.eas_options.layout.display = "" if eas else "none"
        self.tfserving_options.layout.display = "none" if eas else ""
        self._offer_signatures()

    def _offer_signatures(self) -> None:
        """EAS warms up one signature (``serving_default`` first); TF Serving every
        predict signature unless one is chosen."""
        names = list(self.input_choices)
        every = [] if self._server() == "eas" else [("every predict signature",
                                                      EVERY_SIGNATURE)]
        kept = self.warmup_signature.value
        self.warmup_signature.options = [*every, *((name, name) for name in names)]
        if kept in names or (every and kept == EVERY_SIGNATURE):
            self.warmup_signature.value = kept
        elif every:
            self.warmup_signature.value = EVERY_SIGNATURE
        elif names:
            self.warmup_signature.value = (DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in names
                                           else names[0])
        self.warmup_signature.layout.display = "" if names else "none"
        self._show_warmup_inputs()

    def _warmed_up(self) -> list[str]:
        """The signatures the warm-up requests are for."""
        chosen = self.warmup_signature.value
        if chosen is None:  # no predict signature: the backend says so
            return []
        return list(self.input_choices) if chosen == EVERY_SIGNATURE else [chosen]

    def _show_warmup_inputs(self) -> None:
        warmed_up = self._warmed_up()
        for name, block in zip(self.input_choices, self.warmup_box.children, strict=False):
            block.layout.display = "" if name in warmed_up else "none"

    def _on_choice(self) -> None:
        """A choice changed: an error shown for the choices before is no longer current."""
        self._clear_error()
        self._update_files_note()

    def _clear_error(self) -> None:
        if self.error:
            self.error = ""
            self.status.value = ""

    def _update_files_note(self) -> None:
        """Say which files Write writes, and which of them exist; check the service name."""
        problem = self._service_name_problem()
        self.service_name_note.value = error_html(problem) if problem else ""
        if self.info is None:
            self.files_note.value = note_html("Export or choose a SavedModel first.")
            self.write_button.disabled = True
            return
        try:
            files = deployment_files(self.info.path, self.target.value,
                                     out=self.out.value.strip() or None,
                                     archive_format=self.archive_format.value)
        except DeployError as error:
            self.files_note.value = error_html(str(error))
            self.write_button.disabled = True
            return
        self.out.placeholder = _common_folder(files.values())
        self.files_note.value = f"<small>{files_text(files, self.overwrite.value)}</small>"
        self.write_button.disabled = bool(problem)

    def _service_name_problem(self) -> str | None:
        name = self.service_name.value.strip()
        return service_name_problem(name) if name and self._server() == "eas" else None

    def _fail(self, error: BaseException) -> None:
        self.error = failure_text(error)
        self.status.value = error_html(self.error)


def files_text(files: Mapping[str, Path], overwrite: bool) -> str:
    """HTML that names the files Write writes, folder by folder, and says what happens to
    those that exist."""
    listed = "; ".join(f"{_names(paths)} in <code>{escape(folder)}</code>"
                       for folder, paths in _by_folder(files.values()).items())
    existing = [path for path in files.values() if path.exists()]
    if not existing:
        return f"Writes {listed}."
    if overwrite:
        return f"Writes {listed}, replacing {_names(existing)}."
    return (f"Writes {listed}. {_names(existing)} already exist{'s' * (len(existing) == 1)}: "
            "tick Replace existing files or choose another output folder.")


def downloads_html(files: Mapping[str, Path], limit: int = DOWNLOAD_LIMIT) -> str:
    """A download link for each file of a kit up to ``limit`` bytes (its bytes in a
    ``data:`` URL, so it works wherever the notebook runs); a larger file by its path."""
    items = []
    for role, path in files.items():
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size <= limit:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            shown = (f'<a download="{escape(path.name)}" href="data:{mime};base64,{data}">'
                     f"{escape(path.name)}</a>")
        else:
            shown = (f"<code>{escape(str(path))}</code> (too large to download here: copy "
                     "it from that folder)")
        items.append(f"<li>{escape(role)}: {shown} ({format_bytes(size)})</li>")
    return f"<b>Download</b><ul>{''.join(items)}</ul>" if items else ""


def replay_html(requests: Sequence[WarmupRequest], answers: Sequence[TryResult]) -> str:
    """A table of the replay: each request's signature and rows, and what came back."""
    rows = []
    for number, (request, answer) in enumerate(zip(requests, answers, strict=True), start=1):
        said = (ok_html("ok: " + ", ".join(sorted(answer.outputs))) if answer.ok
                else error_html(answer.error))
        rows.append(f"<tr><td>{number}</td><td>{escape(request.signature_name)}</td>"
                    f"<td>{request.batch_size}</td><td>{answer.seconds * 1000:.1f} ms</td>"
                    f"<td>{said}</td></tr>")
    return ("<table><thead><tr><th>request</th><th>signature</th><th>rows</th><th>time</th>"
            f"<th>answer</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _unpacked(archive: Path, stack: contextlib.ExitStack) -> Path:
    """The model archive unpacked into a temporary folder that ``stack`` removes."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smw-archive-")))
    return extract_model_archive(archive, folder / "model")


def _by_folder(paths: Iterable[Path]) -> dict[str, list[Path]]:
    folders: dict[str, list[Path]] = {}
    for path in paths:
        folders.setdefault(os.fspath(path.parent), []).append(path)
    return folders


def _names(paths: Sequence[Path]) -> str:
    return ", ".join(f"<code>{escape(path.name)}</code>" for path in paths)


def _common_folder(paths: Iterable[Path]) -> str:
    parents = list(_by_folder(paths))
    return os.path.commonpath(parents) if parents else ""

