"""Type information for the lazy namespace of ``voxnb.local`` (written by scripts/lazy_stubs.py)."""

from voxnb.local.engine import Engine as Engine
from voxnb.local.engine import get_engine as get_engine
from voxnb.local.voice_encoder import VoiceEncoder as VoiceEncoder

__all__: list[str]
