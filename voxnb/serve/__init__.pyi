"""Type information for the lazy namespace of ``voxnb.serve`` (written by scripts/lazy_stubs.py)."""

from voxnb.serve.app import DEFAULT_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from voxnb.serve.app import create_app as create_app
from voxnb.serve.faults import FaultPlan as FaultPlan
from voxnb.serve.faults import RecordedRequest as RecordedRequest
from voxnb.serve.faults import RequestRecorder as RequestRecorder
from voxnb.serve.harness import ServerProcess as ServerProcess
from voxnb.serve.harness import ServerThread as ServerThread
from voxnb.serve.realtime import realtime_routes as realtime_routes
from voxnb.serve.run import load_engine as load_engine
from voxnb.serve.run import serve as serve

__all__: list[str]
