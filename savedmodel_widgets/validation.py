"""Check an :class:`~savedmodel_widgets.spec.ExportSpec` against its source, before
anything is written (the export and the code generator both start here)."""

from __future__ import annotations

from .compat_export import needs_compatible_export
from .errors import ExportSpecError
from .runtimes.catalogue import get_runtime
from .savedmodel.info import SERVE_TAG
from .sources import Source, choices_text, is_valid_alias, open_source
from .spec import ExportSpec, SignatureSpec

__all__ = ["validate"]


def validate(spec: ExportSpec, source: Source | None = None) -> Source:
    """Check a spec against its source without writing anything.

    Parameters
    ----------
    spec : ExportSpec
        The export to check.
    source : Source, optional
        ``spec.source`` already opened; opened here when not given.

    Returns
    -------
    Source
        The opened source, ready to write.

    Raises
    ------
    ExportSpecError
        With a message that names the valid choices.
    SourceError
        When the source cannot be exported at all.
    """
    source = open_source(spec.source if source is None else source)
    if not spec.signatures:
        raise ExportSpecError("The spec has no signature; add one, e.g. 'serving_default'.")
    names = [signature.name for signature in spec.signatures]
    for signature in spec.signatures:
        _validate_signature(signature, source)
        if names.count(signature.name) > 1:
            raise ExportSpecError(
                f"The signature name {signature.name!r} is used {names.count(signature.name)} "
                "times; each signature needs its own name."
            )
    if not spec.tags or any(not tag for tag in spec.tags):
        raise ExportSpecError("Give at least one non-empty tag; servers load the 'serve' tag.")
    version = spec.version
    if not (version is None or version == "auto" or (isinstance(version, int)
                                                      and not isinstance(version, bool)
                                                      and version >= 0)):
        raise ExportSpecError(
            f"version must be None, a non-negative integer or 'auto', not {version!r}."
        )
    try:
        get_runtime(spec.runtime)
    except ValueError as error:
        raise ExportSpecError(str(error)) from None
    if tuple(spec.tags) != (SERVE_TAG,) and not (source.supports_tags
                                                  or needs_compatible_export(spec)):
        raise ExportSpecError(
            f"A {source.kind} source is saved with tf.saved_model.save, which always tags the "
            f"MetaGraph 'serve'; tags {list(spec.tags)} are possible only for TF1 sessions, "
            "or for an export made for an older runtime (runtime='tf:1.15', say)."
        )
    return source


def _validate_signature(signature: SignatureSpec, source: Source) -> None:
    name = signature.name
    if not name or name.startswith("__"):
        raise ExportSpecError(
            f"The signature name {name!r} is not allowed: names starting with '__' are "
            "TensorFlow's own. Use e.g. 'serving_default' or 'predict_images'."
        )
    if signature.method not in source.supports_methods:
        raise ExportSpecError(
            f"Signature {name!r}: method {signature.method!r} is not available for a "
            f"{source.kind} source; choose {choices_text(list(source.supports_methods))}."
        )
    for what, pairs in (("inputs", signature.inputs), ("outputs", signature.outputs)):
        if not pairs:
            raise ExportSpecError(
                f"Signature {name!r} has no {what}; pick at least one tensor for its {what}."
            )
        aliases = [alias for alias, _ in pairs]
        for alias in aliases:
            if not is_valid_alias(alias):
                raise ExportSpecError(
                    f"Signature {name!r}: {alias!r} is not a valid alias. Use letters, digits "
                    "and underscores, starting with a letter (e.g. 'image', 'scores_1')."
                )
    every_alias = signature.input_aliases + signature.output_aliases
    repeated = sorted({alias for alias in every_alias if every_alias.count(alias) > 1})
    if repeated:
        raise ExportSpecError(
            f"Signature {name!r}: the alias{'es' * (len(repeated) > 1)} "
            f"{', '.join(map(repr, repeated))} {'are' if len(repeated) > 1 else 'is'} used "
            "more than once; every input and output of a signature needs its own alias."
        )
    source.check_signature(signature)
