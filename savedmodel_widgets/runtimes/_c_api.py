"""ctypes bindings of the TensorFlow C API an old runtime's library exports.

Used only inside the runtime worker process (:mod:`._runtime_worker`), which loads one
old TensorFlow: ``libtensorflow_framework.so*`` with ``RTLD_GLOBAL``, then the library
that exports the C API. The functions bound are the stable ones of
``tensorflow/c/c_api.h``, present from 1.12 to today.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

__all__ = ["CApi", "TFBuffer", "TFOutput", "TensorFlowError"]

_RTLD_LAZY = 1


class TensorFlowError(RuntimeError):
    """A C-API call failed; the message is TensorFlow's own status message."""


class TFBuffer(ctypes.Structure):
    """``TF_Buffer``: data, length and a deallocator."""

    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t),
                ("data_deallocator", ctypes.c_void_p)]


class TFOutput(ctypes.Structure):
    """``TF_Output``: an operation and an output index."""

    _fields_ = [("oper", ctypes.c_void_p), ("index", ctypes.c_int)]


_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "TF_Version": (ctypes.c_char_p, []),
    "TF_NewStatus": (_P, []),
    "TF_DeleteStatus": (None, [_P]),
    "TF_GetCode": (ctypes.c_int, [_P]),
    "TF_Message": (ctypes.c_char_p, [_P]),
    "TF_NewGraph": (_P, []),
    "TF_DeleteGraph": (None, [_P]),
    "TF_NewSessionOptions": (_P, []),
    "TF_DeleteSessionOptions": (None, [_P]),
    "TF_SetConfig": (None, [_P, ctypes.c_char_p, ctypes.c_size_t, _P]),
    "TF_NewBuffer": (ctypes.POINTER(TFBuffer), []),
    "TF_DeleteBuffer": (None, [ctypes.POINTER(TFBuffer)]),
    "TF_LoadSessionFromSavedModel": (
        _P, [_P, _P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, _P,
             ctypes.POINTER(TFBuffer), _P]),
    "TF_CloseSession": (None, [_P, _P]),
    "TF_DeleteSession": (None, [_P, _P]),
    "TF_GraphOperationByName": (_P, [_P, ctypes.c_char_p]),
    "TF_SessionRun": (
        None, [_P, _P, ctypes.POINTER(TFOutput), ctypes.POINTER(_P), ctypes.c_int,
               ctypes.POINTER(TFOutput), ctypes.POINTER(_P), ctypes.c_int,
               ctypes.POINTER(_P), ctypes.c_int, _P, _P]),
    "TF_AllocateTensor": (_P, [ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_int,
                               ctypes.c_size_t]),
    "TF_DeleteTensor": (None, [_P]),
    "TF_TensorType": (ctypes.c_int, [_P]),
    "TF_NumDims": (ctypes.c_int, [_P]),
    "TF_Dim": (ctypes.c_int64, [_P, ctypes.c_int]),
    "TF_TensorByteSize": (ctypes.c_size_t, [_P]),
    "TF_TensorData": (_P, [_P]),
}


class CApi:
    """The C API of one TensorFlow library, loaded into this process.

    Parameters
    ----------
    framework : Path
        ``libtensorflow_framework.so*``, loaded first with ``RTLD_GLOBAL``.
    library : Path
        The library exporting the C API.
    """

    def __init__(self, framework: Path, library: Path) -> None:
        ctypes.CDLL(str(framework), mode=ctypes.RTLD_GLOBAL)
        self.lib = ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL | _RTLD_LAZY)
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(self.lib, name)
            function.restype, function.argtypes = restype, argtypes
        self.version = self.lib.TF_Version().decode()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lib, name)

    def check(self, status: int) -> None:
        """Raise :class:`TensorFlowError` with the status message when it is not OK."""
        if self.lib.TF_GetCode(status) != 0:
            raise TensorFlowError(self.lib.TF_Message(status).decode("utf-8", "replace"))

    def load_saved_model(self, path: str, tags: list[str],
                         config: bytes = b"") -> tuple[int, int, bytes]:
        """``TF_LoadSessionFromSavedModel``: ``(session, graph, serialized MetaGraphDef)``.

        Raises
        ------
        TensorFlowError
            With TensorFlow's load error, as a server would log it.
        """
        lib = self.lib
        status, options, graph = lib.TF_NewStatus(), lib.TF_NewSessionOptions(), lib.TF_NewGraph()
        meta_graph = lib.TF_NewBuffer()
        try:
            if config:
                lib.TF_SetConfig(options, config, len(config), status)
                self.check(status)
            tag_array = (ctypes.c_char_p * len(tags))(*(tag.encode() for tag in tags))
            session = lib.TF_LoadSessionFromSavedModel(
                options, None, path.encode(), tag_array, len(tags), graph, meta_graph, status)
            self.check(status)
            buffer = meta_graph.contents
            serialized = ctypes.string_at(buffer.data, buffer.length)
        except TensorFlowError:
            lib.TF_DeleteGraph(graph)
            raise
        finally:
            lib.TF_DeleteBuffer(meta_graph)
            lib.TF_DeleteSessionOptions(options)
            lib.TF_DeleteStatus(status)
        return session, graph, serialized

    def output(self, graph: int, tensor_name: str) -> TFOutput:
        """The ``TF_Output`` of ``"op:index"`` in ``graph``.

        Raises
        ------
        TensorFlowError
            When the graph has no such operation.
        """
        op_name, _, index = tensor_name.partition(":")
        operation = self.lib.TF_GraphOperationByName(graph, op_name.encode())
        if not operation:
            raise TensorFlowError(f"The graph has no operation {op_name!r} "
                                  f"(for the tensor {tensor_name!r}).")
        return TFOutput(operation, int(index or 0))

    def run(self, session: int, feeds: list[tuple[TFOutput, int]],
            fetches: list[TFOutput]) -> list[int]:
        """``TF_SessionRun``: the output tensors (the caller deletes them).

        The input tensors are deleted here, whether the run succeeds or not.
        """
        lib = self.lib
        inputs = (TFOutput * len(feeds))(*(output for output, _ in feeds))
        values = (ctypes.c_void_p * len(feeds))(*(tensor for _, tensor in feeds))
        outputs = (TFOutput * len(fetches))(*fetches)
        results = (ctypes.c_void_p * len(fetches))()
        status = lib.TF_NewStatus()
        try:
            lib.TF_SessionRun(session, None, inputs, values, len(feeds), outputs, results,
                              len(fetches), None, 0, None, status)
            self.check(status)
        finally:
            lib.TF_DeleteStatus(status)
            for _, tensor in feeds:
                lib.TF_DeleteTensor(tensor)
        return [int(result or 0) for result in results]

    def close(self, session: int, graph: int) -> None:
        """Close and delete the session and its graph."""
        status = self.lib.TF_NewStatus()
        self.lib.TF_CloseSession(session, status)
        self.lib.TF_DeleteSession(session, status)
        self.lib.TF_DeleteGraph(graph)
        self.lib.TF_DeleteStatus(status)
