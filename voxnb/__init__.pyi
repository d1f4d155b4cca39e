"""Type information for the lazy namespace of ``voxnb`` (written by scripts/lazy_stubs.py)."""

from voxnb import bias as bias
from voxnb import cluster as cluster
from voxnb import config as config
from voxnb import corpus as corpus
from voxnb import data as data
from voxnb import display as display
from voxnb import errors as errors
from voxnb import local as local
from voxnb import models as models
from voxnb import plot as plot
from voxnb import realtime as realtime
from voxnb import request as request
from voxnb import serve as serve
from voxnb.api.client import AsyncClient as AsyncClient
from voxnb.api.client import Client as Client
from voxnb.audio import Audio as Audio
from voxnb.backend import align_many as align_many
from voxnb.backend import transcribe as transcribe
from voxnb.backend import transcribe_many as transcribe_many
from voxnb.config import get_option as get_option
from voxnb.config import set_options as set_options
from voxnb.differences import diff as diff
from voxnb.errors import APIError as APIError
from voxnb.errors import AudioError as AudioError
from voxnb.errors import AuthenticationError as AuthenticationError
from voxnb.errors import EngineError as EngineError
from voxnb.errors import MissingDependencyError as MissingDependencyError
from voxnb.errors import ParameterError as ParameterError
from voxnb.errors import RateLimitError as RateLimitError
from voxnb.errors import RealtimeError as RealtimeError
from voxnb.errors import ResponseFormatError as ResponseFormatError
from voxnb.errors import ServerError as ServerError
from voxnb.errors import TransportError as TransportError
from voxnb.errors import VoxnbError as VoxnbError
from voxnb.local.align import align as align
from voxnb.realtime.live import transcribe_realtime as transcribe_realtime
from voxnb.realtime.recorder import Recorder as Recorder
from voxnb.realtime.session import RealtimeSession as RealtimeSession
from voxnb.request import bias_terms as bias_terms
from voxnb.transcript import Transcript as Transcript
from voxnb.transcript import concat as concat
from voxnb.transcript import load_transcript as load_transcript

__version__: str
__all__: list[str]
