"""Loading the ONNX models voxnb ships (CAM++, segmentation-3.0) into onnxruntime sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["session"]


def session(weights: str | Path, *, what: str, script: str) -> Any:
    """An onnxruntime CPU session of *weights* on two threads.

    *what* names the model in errors ("speaker model"); *script* is the ``scripts/`` converter
    that writes such a file, named in the error when *weights* cannot be loaded.

    Examples
    --------
    >>> from voxnb.local.campplus import WEIGHTS
    >>> session(WEIGHTS, what="speaker model", script="convert_campplus.py").get_inputs()[0].name
    'feats'
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("onnxruntime", "offline", f"the {what}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2  # the machines voxnb targets have two cores
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ParameterError(
            f"could not load the {what} from {weights} ({type(exc).__name__}: {exc}); "
            f"pass an ONNX file written by scripts/{script}, or nothing for the bundled one"
        ) from exc
