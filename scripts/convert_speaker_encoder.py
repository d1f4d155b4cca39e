"""Convert resemblyzer's speaker encoder (``pretrained.pt``) to voxnb's compact ``.npz``.

voxnb runs the encoder's forward pass in numpy (``voxnb/local/voice_encoder.py``) so that
offline speaker labels need no torch: a plain ``pip install torch`` on Linux pulls a
multi-GB CUDA build. This one-time conversion does need torch and the resemblyzer wheel::

    pip install torch==2.13.0 && pip install --no-deps resemblyzer==0.1.4
    python scripts/convert_speaker_encoder.py            # writes voxnb/local/speaker_encoder.npz

The LSTM and linear weights are stored as float16 (half the size; the embeddings they give
are checked below against torch's float32 ones), the two LSTM biases summed in float32.
resemblyzer is Apache-2.0 (Resemble AI, Corentin Jemine); its licence travels with the
weights as ``voxnb/local/speaker_encoder_LICENSE.txt`` and ``speaker_encoder_NOTICE.txt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "voxnb" / "local" / "speaker_encoder.npz"


def convert(checkpoint: Path, out: Path = OUT) -> None:
    import torch

    state = torch.load(checkpoint, map_location="cpu")["model_state"]
    arrays = {}
    for layer in range(3):
        arrays[f"w_ih{layer}"] = state[f"lstm.weight_ih_l{layer}"].numpy().astype(np.float16)
        arrays[f"w_hh{layer}"] = state[f"lstm.weight_hh_l{layer}"].numpy().astype(np.float16)
        arrays[f"b{layer}"] = (state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]).numpy()
    arrays["w_out"] = state["linear.weight"].numpy().astype(np.float16)
    arrays["b_out"] = state["linear.bias"].numpy()
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


def verify(out: Path = OUT) -> float:
    """Smallest cosine between torch's and voxnb's embeddings of a few real clips."""
    import soundfile as sf
    import torch
    from resemblyzer import VoiceEncoder

    from voxnb.local.voice_encoder import VoiceEncoder as NumpyEncoder

    reference = VoiceEncoder(device="cpu", verbose=False)
    ours = NumpyEncoder(out)
    data = Path(__file__).resolve().parents[1] / "voxnb" / "data"
    worst = 1.0
    for name in ("dialogue.ogg", "two_voices.ogg", "three_voices.ogg"):
        y, sr = sf.read(data / name, dtype="float32")
        for start in range(0, len(y) - 3 * sr, 5 * sr):
            clip = y[start : start + 3 * sr]
            mels = ours.partial_mels(clip)
            with torch.no_grad():
                expected = reference(torch.from_numpy(mels)).numpy()
            got = ours.forward(mels)
            worst = min(worst, float(np.min(np.sum(expected * got, axis=1))))
    print(f"smallest cosine(torch float32, voxnb numpy) over all partials: {worst:.6f}")
    return worst


if __name__ == "__main__":
    import resemblyzer

    convert(Path(resemblyzer.__file__).parent / "pretrained.pt")
    if verify() < 0.999:
        sys.exit("numpy forward pass disagrees with torch")
