"""Which system transcribes, decided once, announced in one line; and ``voxnb.transcribe``.

Every entry point that can reach more than one system — :func:`transcribe`,
:func:`transcribe_many`, :func:`voxnb.transcribe_realtime`, :class:`voxnb.Recorder`,
:class:`voxnb.bias.Experiment` — asks :func:`resolve_backend`, which applies one precedence:

1. ``engine=`` (an engine object in this process);
2. ``backend=`` given explicitly;
3. ``base_url=``: that server (its dialect is detected from ``GET /v1/models`` unless
   ``dialect=`` says it);
4. an API key (``api_key=`` or ``$MISTRAL_API_KEY``): Mistral's API;
5. otherwise the embedded offline engine.

The key goes into a :class:`~voxnb.credentials.Secret` at once; ``$MISTRAL_API_KEY`` is only ever
sent to Mistral's own API.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voxnb.credentials import MISTRAL_BASE_URL, Secret, api_key_for, clean_base_url, secret_api_key
from voxnb.errors import ParameterError
from voxnb.request import TranscriptionRequest, response_granularity

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from voxnb.audio import Audio
    from voxnb.request import TranscriptionOptions
    from voxnb.runs import BatchResult
    from voxnb.transcript import Transcript

__all__ = [
    "BACKENDS",
    "Backend",
    "LocalTranscriber",
    "Announcement",
    "align_many",
    "announce",
    "resolve_backend",
    "transcribe",
    "transcribe_many",
]

log = logging.getLogger("voxnb")

BACKENDS = ("mistral", "openai-compatible", "local")
_BACKEND_ALIASES = {"openai": "openai-compatible", "vllm": "openai-compatible", "offline": "local"}
_DIALECT_ALIASES = {"mistral": "mistral", "openai": "openai", "vllm": "openai"}


@dataclass(frozen=True, repr=False)
class Backend:
    """The system chosen to transcribe, and why (see :func:`resolve_backend`).

    Attributes
    ----------
    name : {"mistral", "openai-compatible", "local", "server"}
        ``"server"`` is a ``base_url=`` whose dialect is found on first contact.
    reason : str
        Why it was chosen, for the announcement.
    base_url : str or None
        The server (None in process).
    dialect : {"mistral", "openai"} or None
        The HTTP dialect, None until detected.
    key : Secret
        The API key to send (never shown).
    engine : object or None
        The in-process engine, when one was given.
    """

    name: str
    reason: str
    base_url: str | None = None
    dialect: str | None = None
    key: Secret = field(default_factory=lambda: Secret(None))
    engine: Any = None

    def __repr__(self) -> str:
        where = self.base_url or (
            f"engine {self.engine.model!r}" if self.engine is not None else "in process"
        )
        key = ", key set" if self.key else ""
        return f"Backend({self.name!r}, {where}, dialect={self.dialect!r}{key})"

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    def client_options(self) -> dict[str, Any]:
        """What a :class:`voxnb.Client` for this backend is built with."""
        return {"api_key": self.key, "base_url": self.base_url, "dialect": self.dialect}


@secret_api_key
def resolve_backend(
    backend: str | Backend | None = None,
    *,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    dialect: str | None = None,
    engine: Any = None,
) -> Backend:
    """The backend these arguments select, by the one precedence of this module.

    Examples
    --------
    >>> resolve_backend("local").name
    'local'
    >>> resolve_backend(base_url="http://127.0.0.1:8000", dialect="vllm")
    Backend('openai-compatible', http://127.0.0.1:8000, dialect='openai')
    >>> resolve_backend(base_url="http://127.0.0.1:8000").name  # the dialect is asked of the server
    'server'
    """
    if isinstance(backend, Backend):
        if any(v is not None for v in (api_key, base_url, dialect, engine)):
            raise ParameterError(
                "backend= is already resolved: drop api_key=, base_url=, dialect= and engine="
            )
        return backend
    if dialect is not None:
        if not isinstance(dialect, str) or dialect.lower() not in _DIALECT_ALIASES:
            raise ParameterError(
                f"dialect must be 'mistral' or 'openai' (alias 'vllm'); got {dialect!r}", option="dialect"
            )
        dialect = _DIALECT_ALIASES[dialect.lower()]
    url = None if base_url is None else clean_base_url(base_url)
    if engine is not None:
        if url is not None or backend not in (None, "local", "offline"):
            raise ParameterError(
                "give either engine= (in process) or a server (base_url=, backend=), not both",
                option="engine",
            )
        return Backend("local", "engine= given", engine=engine)
    if backend is not None:
        name = _BACKEND_ALIASES.get(backend, backend) if isinstance(backend, str) else backend
        if name not in BACKENDS:
            raise ParameterError(
                f"backend must be one of {', '.join(BACKENDS)} (or 'openai', 'vllm', 'offline'); got {backend!r}",
                option="backend",
            )
        if name == "local":
            if url is not None or api_key is not None:
                raise ParameterError(
                    "backend='local' runs in this process: drop base_url= and api_key=", option="backend"
                )
            return Backend("local", "chosen with backend=")
        if name == "openai-compatible" and url is None:
            raise ParameterError(
                "backend='openai-compatible' needs base_url= (e.g. 'http://127.0.0.1:8000' of a vLLM server)",
                option="base_url",
            )
        if dialect is not None and dialect != ("mistral" if name == "mistral" else "openai"):
            raise ParameterError(f"backend={backend!r} and dialect={dialect!r} disagree", option="dialect")
        url = url or MISTRAL_BASE_URL
        return Backend(
            name,
            "chosen with backend=",
            base_url=url,
            dialect="mistral" if name == "mistral" else "openai",
            key=api_key_for(url, api_key),
        )
    if url is not None:
        known = "mistral" if url == MISTRAL_BASE_URL else dialect
        name = {"mistral": "mistral", "openai": "openai-compatible"}.get(known or "", "server")
        return Backend(name, "base_url= given", base_url=url, dialect=known, key=api_key_for(url, api_key))
    key = api_key_for(None, api_key)
    if key:
        reason = "an API key was given" if api_key is not None else "MISTRAL_API_KEY is set"
        if dialect == "openai":
            raise ParameterError("Mistral's API speaks the mistral dialect; drop dialect=", option="dialect")
        return Backend("mistral", reason, base_url=MISTRAL_BASE_URL, dialect="mistral", key=key)
    return Backend("local", "no MISTRAL_API_KEY and no base_url")


def announce(
    entry: str, backend: Backend, *, model: str | None, details: str = "", quiet: bool = False
) -> None:
    """The one line that says which system answers: backend, where, why, model, and how words are timed.

    In a notebook it is a small neutral output line (never on stderr, which notebooks show as an
    error); in a terminal it is one stderr line. ``quiet=True`` or
    ``voxnb.set_options(announce=False)`` (or ``VOXNB_ANNOUNCE=0``) silences it.
    """
    from voxnb.config import get_option

    place = f" at {backend.base_url}" if backend.base_url else ""
    line = f"{entry}: backend={backend.name}{place} ({backend.reason}), model={model or 'the server default'}"
    line += f", {details}" if details else ""
    log.debug(line)
    if quiet or not get_option("announce"):
        return
    shell = _notebook_shell()
    if shell is None:
        print(line, file=sys.stderr)
    else:
        from IPython.display import display

        display(Announcement(line))


class Announcement:
    """The backend line as a notebook shows it: small and grey as HTML, the line itself as text."""

    def __init__(self, line: str):
        self.line = line

    def __repr__(self) -> str:
        return self.line

    def _repr_html_(self) -> str:
        import html

        return (
            "<div class='voxnb-announce' style='font-size:11px;line-height:1.3;"
            "color:var(--jp-ui-font-color2,#666);font-family:var(--jp-code-font-family,monospace)'>"
            f"{html.escape(self.line)}</div>"
        )


def _notebook_shell() -> Any:
    """The Jupyter kernel's shell when this runs in one, else None (a terminal, a script, IPython)."""
    ipython = sys.modules.get("IPython")  # never imported here: a script without IPython stays light
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def describe(request: TranscriptionRequest, *, dialect_note: str = "") -> str:
    """The announcement's details for a resolved request (dialect found, assumed models, aligned words)."""
    notes = [dialect_note] if dialect_note else []
    if request.align_words:
        notes.append("word times by forced alignment (voxnb.align)")
    return "; ".join(notes)


# -- the offline engine, behind the same steps as the HTTP client --------------------------------


class LocalTranscriber:
    """The embedded offline engine (or any engine object) behind the steps the HTTP client has.

    ``prepare`` (validate the options against the engine), ``load`` (decode the audio), ``send``
    (run the engine), ``build`` (make the Transcript, aligning words when asked): the same steps,
    in the same order, as :class:`voxnb.AsyncClient`, so :func:`voxnb.runs.run_many` drives
    either, and :func:`transcribe` is these four steps in a row.

    Parameters
    ----------
    engine : object, optional
        An engine (``voxnb.local.Engine``, the test engine...); default: the shared offline
        engine for the request's ``model``.
    """

    backend = "local"
    base_url = ""

    def __init__(self, engine: Any = None):
        self._engine = engine
        self._by_model: dict[str | None, Any] = {}  # resolved model name -> the engine that answers it
        #: engine calls made (the HTTP client counts requests)
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"LocalTranscriber({self._engine!r})"

    def engine_for(self, request: TranscriptionRequest) -> Any:
        """The engine that answers *request* (the given one, or the shared engine of its model)."""
        if self._engine is not None:
            return self._engine
        if request.resolved:
            return self._by_model[request.model]
        from voxnb.local.engine import get_engine

        # an English-only model hands other languages to the packaged multilingual one
        return get_engine(request.model).for_language(request.language)

    def prepare_sync(self, **options: Any) -> TranscriptionRequest:
        request = TranscriptionRequest.create(**options)
        engine = self.engine_for(request)
        resolved = request.resolve(engine.capabilities)
        self._by_model[resolved.model] = engine
        return resolved

    def load_sync(self, audio: Any, sr: int | None = None) -> Audio:
        from voxnb.audio import as_audio
        from voxnb.local.engine import SAMPLE_RATE

        # refused before the engine runs, as the HTTP client refuses silence before sending
        return as_audio((audio, sr) if sr is not None else audio, sr=SAMPLE_RATE).check_audible()

    def send_sync(self, audio: Audio, request: TranscriptionRequest) -> dict[str, Any]:
        self.requests_sent += 1
        return self.engine_for(request).transcribe(audio.y, **request.engine_options())

    def build_sync(self, response: dict[str, Any], audio: Audio, request: TranscriptionRequest) -> Transcript:
        from voxnb.transcript import Transcript

        transcript = Transcript.from_response(
            response,
            granularity=response_granularity(self.backend, request.wire_timestamps),
            backend="local",
            model=response.get("model") or request.model,
            request=request.record(),
            audio_sha256=audio.sha256,
            audio=audio,
        )
        if request.speaker_references:
            from voxnb.local.speaker_names import name_speakers

            found = name_speakers(audio.y, response.get("segments") or [], request.speaker_references)
            transcript = transcript.rename_speakers(found.names, similarity=found.similarity)
        return transcript.align(audio, engine=self.engine_for(request)) if request.align_words else transcript

    def transcribe(self, audio: Any, *, sr: int | None = None, **options: Any) -> Transcript:
        """Transcribe one recording in this process (the four steps in a row)."""
        request = self.prepare_sync(**options)
        loaded = self.load_sync(audio, sr)
        return self.build_sync(self.send_sync(loaded, request), loaded, request)

    def worker_recipe(self) -> LocalRecipe:
        """How a Dask worker builds the same transcriber: each engine as its recipe, not its weights.

        A :class:`voxnb.local.Engine` travels as (model path, compute type, beam size) and is
        loaded on the worker; any other engine object travels pickled.
        """
        specs: list[Any] = []
        index: dict[int, int] = {}

        def spec_of(engine: Any) -> int:
            if id(engine) not in index:
                recipe = getattr(engine, "recipe", None)
                if recipe is None:
                    try:
                        import cloudpickle

                        cloudpickle.dumps(engine)
                    except Exception as err:
                        raise ParameterError(
                            f"engine {engine!r} cannot be sent to Dask workers ({type(err).__name__}: "
                            f"{err}); give a voxnb.local.Engine or a picklable engine",
                            option="engine",
                        ) from None
                index[id(engine)] = len(specs)
                specs.append(engine if recipe is None else _EngineRecipe(*recipe))
            return index[id(engine)]

        given = None if self._engine is None else spec_of(self._engine)
        by_model = tuple((model, spec_of(engine)) for model, engine in self._by_model.items())
        return LocalRecipe(tuple(specs), given, by_model)

    # the asynchronous steps :func:`voxnb.runs.run_many` drives (the engine works in a thread)
    async def prepare(self, **options: Any) -> TranscriptionRequest:
        return await asyncio.to_thread(self.prepare_sync, **options)

    async def load(self, audio: Any, *, sr: int | None = None) -> Audio:
        return await asyncio.to_thread(self.load_sync, audio, sr)

    async def send(self, source: Audio, request: TranscriptionRequest) -> dict[str, Any]:
        return await asyncio.to_thread(self.send_sync, source, request)

    async def build(
        self, response: dict[str, Any], source: Audio, request: TranscriptionRequest
    ) -> Transcript:
        return await asyncio.to_thread(self.build_sync, response, source, request)


@dataclass(frozen=True)
class _EngineRecipe:
    """A :class:`voxnb.local.Engine` as its arguments: ``model`` None is the default tiny.en."""

    model: str | None
    compute_type: str
    beam_size: int

    def load(self) -> Any:
        import os

        from voxnb.local.engine import Engine

        # Dask sets OMP_NUM_THREADS=1 on its workers: parallelism comes from the worker threads
        threads = int(os.environ.get("OMP_NUM_THREADS") or 0) or None
        return Engine(
            self.model, cpu_threads=threads, compute_type=self.compute_type, beam_size=self.beam_size
        )


@dataclass(frozen=True)
class LocalRecipe:
    """What a Dask worker needs to build its own :class:`LocalTranscriber` (see :mod:`voxnb.cluster`).

    Calling it loads the engines (once per worker thread: :mod:`voxnb.cluster` keeps the result).
    """

    engines: tuple[Any, ...]
    given: int | None
    by_model: tuple[tuple[str | None, int], ...]

    def __call__(self) -> LocalTranscriber:
        engines = [e.load() if isinstance(e, _EngineRecipe) else e for e in self.engines]
        runner = LocalTranscriber(None if self.given is None else engines[self.given])
        runner._by_model.update((model, engines[i]) for model, i in self.by_model)
        return runner

    def check_worker(self) -> str | None:
        """Why this worker cannot run the engine (faster-whisper missing), or None."""
        import importlib.util

        if any(isinstance(e, _EngineRecipe) for e in self.engines) and not importlib.util.find_spec(
            "faster_whisper"
        ):
            return "faster-whisper is not installed there: pip install 'voxnb[offline]' on every worker"
        return None


# -- the entry points -----------------------------------------------------------------------------


@secret_api_key
def transcribe(
    audio: Any,
    *,
    backend: str | Backend | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    dialect: str | None = None,
    sr: int | None = None,
    quiet: bool = False,
    timeout: float | None = None,
    retry: Any = None,
    **options: Unpack[TranscriptionOptions],
) -> Transcript:
    """Transcribe *audio* with the best available backend and return a :class:`voxnb.Transcript`.

    Parameters
    ----------
    audio : path, bytes, file object, voxnb.Audio, (samples, sr) or URL
        The recording, in any form :class:`voxnb.Client` accepts (arrays need ``sr=``).
    backend : {"mistral", "openai-compatible", "local"}, optional
        Force a backend; by default: ``base_url`` → that server, an API key → Mistral, else the
        offline engine.
    api_key, base_url, dialect : optional
        Where to send it: see :func:`resolve_backend`. ``$MISTRAL_API_KEY`` goes to Mistral only.
    sr : int, optional
        Sample rate of *audio* when it is a numpy array.
    quiet : bool
        Do not announce the backend.
    timeout, retry : optional
        HTTP options (see :class:`voxnb.Client`).
    **options
        The transcription options (:class:`voxnb.request.TranscriptionOptions`): ``model``,
        ``timestamps`` ("segment", "word" or both), ``words`` ("auto", "api", "aligned"),
        ``diarize``, ``context_bias``, ``language``, ``temperature``, ``num_speakers`` (offline).
        An option the chosen model cannot honour raises :class:`~voxnb.errors.ParameterError`.
        Word timestamps asked of a model that gives none (Voxtral 3) come from forced alignment.

    Returns
    -------
    voxnb.Transcript

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.transcribe(voxnb.data.path("dialogue"), timestamps=["segment", "word"],
    ...                      diarize=True)                                    # doctest: +SKIP
    voxnb.transcribe: backend=local (no MISTRAL_API_KEY and no base_url), model=faster-whisper-tiny.en (local)
    >>> t.speakers                                                            # doctest: +SKIP
    """
    chosen = resolve_backend(backend, api_key=api_key, base_url=base_url, dialect=dialect)
    if chosen.is_local and (timeout is not None or retry is not None):
        raise ParameterError("timeout= and retry= are HTTP options; the offline engine takes neither")
    runner = _announced_runner("voxnb.transcribe", chosen, options, quiet=quiet, timeout=timeout, retry=retry)
    return runner.transcribe(audio, sr=sr, **options)


@secret_api_key
def transcribe_many(
    items: Any,
    *,
    backend: str | Backend | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    dialect: str | None = None,
    engine: Any = None,
    concurrency: int | None = None,
    cache: Any = True,
    progress: bool = True,
    sr: int | None = None,
    quiet: bool = False,
    mode: str = "requests",
    executor: Any = None,
    **options: Unpack[TranscriptionOptions],
) -> BatchResult:
    """Transcribe many recordings with the best available backend, cached and resumable.

    The backend is chosen as for :func:`transcribe`; the run is
    :meth:`voxnb.Client.transcribe_many` against a server, and the same runner (cache, progress,
    per-item options, failures kept as data) over the offline engine in this process.

    Parameters
    ----------
    items : mapping of name → item, or iterable of items or ``(name, item)`` pairs
        See :meth:`voxnb.Client.transcribe_many`; a mapping item ``{"audio": ..., **options}``
        carries options of its own.
    concurrency : int, optional
        Items in flight at once (default 8 against a server, 1 for the offline engine). With
        *executor*, requests to a server in flight across the whole cluster; offline items
        then run one per worker thread.
    cache, progress, sr
        As for :meth:`voxnb.Client.transcribe_many`.
    mode : {"requests", "batch"}
        ``"batch"`` submits the items as one batch job of the server's Batch API (Mistral's, or
        ``voxnb serve``'s) and waits for it: see :meth:`voxnb.Client.submit_batch`.
    executor : dask.distributed.Client, optional
        Run every item as a task on this Dask cluster (see :meth:`voxnb.Client.transcribe_many`).
    **options
        Transcription options for every item (:class:`voxnb.request.TranscriptionOptions`).

    Returns
    -------
    voxnb.runs.BatchResult

    Examples
    --------
    >>> result = voxnb.transcribe_many(sorted(Path("calls").glob("*.flac")), timestamps="segment")  # doctest: +SKIP
    >>> result.to_frame()  # doctest: +SKIP

    On a Dask cluster (``pip install 'voxnb[cluster]'``), with a cache every worker reaches:

    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> dask_client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> result = voxnb.transcribe_many(files, executor=dask_client, cache="/shared/voxnb-cache")  # doctest: +SKIP
    """
    from voxnb.runs import run_many

    chosen = resolve_backend(backend, api_key=api_key, base_url=base_url, dialect=dialect, engine=engine)
    if chosen.is_local and mode != "requests":
        raise ParameterError(
            f"mode={mode!r} needs a server with a Batch API (Mistral's API with a key, or `voxnb serve` at "
            "base_url=); the offline engine in this process runs the items one by one (mode='requests')",
            option="mode",
        )
    runner = _announced_runner("voxnb.transcribe_many", chosen, options, quiet=quiet, executor=executor)
    run = {"cache": cache, "progress": progress, "sr": sr, "executor": executor}
    if chosen.is_local:
        return _run_sync(run_many(runner, items, concurrency=concurrency or 1, options=dict(options), **run))
    return runner.transcribe_many(items, concurrency=concurrency or 8, mode=mode, **run, **options)


def _announced_runner(
    entry: str, chosen: Backend, options: Any, *, quiet: bool, executor: Any = None, **http: Any
) -> Any:
    """What transcribes for *chosen* (the offline engine, or a reused Client), with the options checked
    against its model and the choice announced (with the Dask cluster, if any) — before any audio is read."""
    if chosen.is_local:
        local = LocalTranscriber(chosen.engine)
        request = local.prepare_sync(**options)
        details = _on_cluster(describe(request), executor)
        announce(entry, chosen, model=request.model, details=details, quiet=quiet)
        return local
    client = _client(chosen, **http)
    request = client.prepare(**options)
    details = _on_cluster(describe(request, dialect_note=client.dialect_note), executor)
    announce(entry, _detected(chosen, client), model=request.model, details=details, quiet=quiet)
    return client


def align_many(
    transcripts: Any,
    audio: Any = None,
    *,
    engine: Any = None,
    executor: Any = None,
    progress: bool = True,
) -> BatchResult:
    """Word times from the audio (:func:`voxnb.align`) for many transcripts: here, or as Dask tasks.

    Parameters
    ----------
    transcripts : mapping of name → Transcript
        E.g. a :class:`~voxnb.runs.BatchResult` from a server that gives no word times.
    audio : mapping of name → audio, optional
        The recording each transcript was made from (a path, :class:`voxnb.Audio`, bytes...);
        by default each transcript's own ``.audio``.
    engine : voxnb.local.Engine, optional
        Whose Whisper model aligns (default: the offline engine, tiny.en).
    executor : dask.distributed.Client, optional
        Align each transcript as a task (``voxnb-align``) on this cluster; each worker loads the
        engine once.
    progress : bool
        Show a progress bar.

    Returns
    -------
    voxnb.runs.BatchResult
        Name → aligned Transcript (``timing="aligned"`` words), failures in ``.errors``.

    Examples
    --------
    >>> result = client.transcribe_many(files, model="voxtral-mini-transcribe-3", timestamps="segment")  # doctest: +SKIP
    >>> aligned = voxnb.align_many(result, {name: name for name in result}, executor=dask_client)  # doctest: +SKIP
    >>> voxnb.corpus.tables(aligned).words.groupby("recording").timing.value_counts()  # doctest: +SKIP
    """
    from voxnb.runs import run_jobs

    if not isinstance(transcripts, Mapping):
        raise ParameterError("align_many() takes a mapping name → Transcript (a BatchResult or a dict)")
    runner = LocalTranscriber(engine)
    request = runner.prepare_sync()  # which engine aligns, decided once here
    jobs = []
    for name, transcript in transcripts.items():
        sound = transcript.audio if audio is None else audio.get(name)
        if sound is None:
            raise ParameterError(
                f"align_many(): no audio for {name!r}; pass audio={{name: path, ...}} for every transcript"
            )
        jobs.append((str(name), (transcript, sound, request)))
    return _run_sync(
        run_jobs(
            runner,
            jobs,
            _align_item,
            concurrency=1,
            progress=progress,
            executor=executor,
            task="align",
            desc="aligning",
        )
    )


async def _align_item(
    runner: LocalTranscriber, transcript: Transcript, audio: Any, request: TranscriptionRequest
) -> tuple[Transcript, bool]:
    from voxnb.local.align import align

    return await asyncio.to_thread(align, transcript, audio, engine=runner.engine_for(request)), False


def _on_cluster(details: str, executor: Any) -> str:
    """The announcement's details, and the Dask cluster the run goes to (with its dashboard)."""
    if executor is None:
        return details
    from voxnb.cluster import describe as cluster

    return "; ".join(filter(None, [details, cluster(executor)]))


def _run_sync(coro: Any) -> Any:
    """Run *coro* to completion from synchronous code, inside Jupyter's running loop too."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import nest_asyncio

    nest_asyncio.apply(loop)
    return loop.run_until_complete(coro)


def _detected(chosen: Backend, client: Any) -> Backend:
    """*chosen* with the name and dialect the client found on the server."""
    if chosen.dialect is not None:
        return chosen
    return Backend(
        client.backend, chosen.reason, base_url=chosen.base_url, dialect=client.dialect, key=chosen.key
    )


_clients = threading.local()  # a sync Client drives its own event loop: one set of clients per thread
_MAX_CLIENTS = 4


def _client(chosen: Backend, **options: Any) -> Any:
    """A :class:`voxnb.Client` for this backend, reused across calls (its connections and dialect too).

    Clients are told apart by the backend (key included, compared without being shown) and the
    options, so a key that changes gets a new client and the old one is closed.
    """
    from voxnb.api.client import Client

    options = {k: v for k, v in options.items() if v is not None}
    config = (chosen.name, chosen.base_url, chosen.dialect, chosen.key, *sorted(options.items()))
    try:
        hash(config)
    except TypeError:  # an unhashable option value: nothing to reuse by
        return Client(**chosen.client_options(), **options)
    cached: dict[Any, Client] = _clients.__dict__.setdefault("by_config", {})
    client = cached.get(config)
    if client is None:
        client = cached[config] = Client(**chosen.client_options(), **options)
        while len(cached) > _MAX_CLIENTS:
            cached.pop(next(iter(cached))).close()
    return client
