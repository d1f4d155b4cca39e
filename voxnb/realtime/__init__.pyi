"""Type information for the lazy namespace of ``voxnb.realtime`` (written by scripts/lazy_stubs.py)."""

from voxnb.realtime import protocol as protocol
from voxnb.realtime.live import LiveTranscription as LiveTranscription
from voxnb.realtime.live import microphone as microphone
from voxnb.realtime.live import transcribe_realtime as transcribe_realtime
from voxnb.realtime.recorder import Recorder as Recorder
from voxnb.realtime.session import RealtimeSession as RealtimeSession

__all__: list[str]
