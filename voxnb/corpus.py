"""Many transcripts as one table per kind — segments, words, turns, speakers — with a ``recording`` column.

:func:`tables` reads a corpus from a :class:`~voxnb.runs.BatchResult` (or any mapping name →
Transcript), a folder of saved ``.voxnb.json`` transcripts, or a transcription cache (a folder or
an fsspec URL), and gives each kind of table as one DataFrame: the columns and dtypes of the
DataFrame contract (DESIGN.md) after a categorical ``recording`` column, so code written for one
transcript's ``t.words`` works on ``corpus.words``. Small corpora are pandas; large ones (or
``lazy=True``) are a ``dask.dataframe`` whose partitions are groups of recordings, built where
the work runs (on a Dask cluster when a client is active). :meth:`Corpus.to_parquet` writes
each table partitioned by recording (``words/recording=<name>/part-0.parquet``, one file per
recording, each written atomically), and :func:`read_parquet` reads them back with the
contract's dtypes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from voxnb.cache import TranscriptCache
from voxnb.errors import ParameterError
from voxnb.storage import Location

if TYPE_CHECKING:
    import pandas as pd

    from voxnb.transcript import Transcript

__all__ = ["KINDS", "Corpus", "read_parquet", "tables"]

KINDS = ("segments", "words", "turns", "speakers")
#: JSON on disk above which a corpus is a dask.dataframe unless ``lazy=False`` says otherwise
EAGER_LIMIT = 512 * 2**20
#: JSON per partition of a lazy table (its tables take a few times that in memory)
PARTITION_BYTES = 32 * 2**20
SAVED_SUFFIX = ".voxnb.json"


@dataclass(frozen=True)
class _Saved:
    """A transcript saved with :meth:`Transcript.save` (read where the partition is built)."""

    folder: Location
    name: str

    def load(self) -> Transcript:
        from voxnb.readers import parse_json
        from voxnb.transcript import Transcript

        return Transcript.from_dict(parse_json(self.folder.read(self.name)))


@dataclass(frozen=True)
class _Entry:
    """A cache entry: the raw response and the request it answered."""

    cache: TranscriptCache
    key: str

    def load(self) -> Transcript:
        from voxnb.request import response_granularity
        from voxnb.transcript import Transcript

        entry = self.cache.get(self.key)
        if entry is None:
            raise ParameterError(f"cache entry {self.key} is missing or corrupt in {self.cache!r}")
        meta, request = entry["meta"], entry["meta"].get("request") or {}
        return Transcript.from_response(
            entry["response"],
            granularity=response_granularity(
                meta.get("backend", ""), request.get("timestamp_granularities") or ()
            ),
            backend=meta.get("backend"),
            base_url=meta.get("base_url") or None,
            request=request,
            audio_sha256=meta.get("audio_sha256"),
        )


def _load(source: Any) -> Transcript:
    return source.load() if isinstance(source, (_Saved, _Entry)) else source


class Corpus:
    """Many transcripts, one table per kind with a ``recording`` column (see :func:`tables`).

    Attributes
    ----------
    recordings : list of str
        The recordings, in order; the categories of every table's ``recording`` column.
    lazy : bool
        Whether the tables are ``dask.dataframe`` (else pandas).
    """

    def __init__(self, sources: list[tuple[str, Any]], sizes: list[int], *, lazy: bool):
        if not sources:
            raise ParameterError("the corpus is empty: there is no transcript to make tables of")
        self.recordings = [name for name, _ in sources]
        if len(set(self.recordings)) != len(self.recordings):
            raise ParameterError("two transcripts of the corpus have the same recording name")
        self._sources = sources
        self._sizes = sizes
        self.lazy = lazy

    def __len__(self) -> int:
        return len(self.recordings)

    def __repr__(self) -> str:
        kind = f"dask.dataframe, {len(self.partitions)} partitions" if self.lazy else "pandas"
        return f"<Corpus {len(self)} recordings ({kind})>"

    def transcripts(self) -> Iterator[tuple[str, Transcript]]:
        """(recording, Transcript) pairs, each read when its turn comes."""
        for name, source in self._sources:
            yield name, _load(source)

    @cached_property
    def partitions(self) -> list[list[tuple[str, Any]]]:
        """The recordings of each partition of a lazy table: consecutive groups of about
        :data:`PARTITION_BYTES` of JSON."""
        parts: list[list[tuple[str, Any]]] = [[]]
        total = 0
        for source, size in zip(self._sources, self._sizes):
            if parts[-1] and total + size > PARTITION_BYTES:
                parts.append([])
                total = 0
            parts[-1].append(source)
            total += size
        return parts

    def table(self, kind: str) -> Any:
        """The *kind* table (``segments``, ``words``, ``turns`` or ``speakers``) of every recording."""
        if kind not in KINDS:
            raise ParameterError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        cached = self.__dict__.setdefault("_tables", {})
        if kind not in cached:
            if not self.lazy:
                cached[kind] = _partition_table(self._sources, kind=kind, recordings=self.recordings)
            else:
                import dask.dataframe as dd
                from dask.dataframe.utils import clear_known_categories

                meta = clear_known_categories(_empty(kind, self.recordings), cols=["speaker"])
                cached[kind] = dd.from_map(
                    _partition_table,
                    self.partitions,
                    kind=kind,
                    recordings=self.recordings,
                    meta=meta,
                    label=f"voxnb-corpus-{kind}",
                    enforce_metadata=False,
                )
        return cached[kind]

    segments = property(lambda self: self.table("segments"), doc="``recording`` + the segments table.")
    words = property(lambda self: self.table("words"), doc="``recording`` + the words table.")
    turns = property(lambda self: self.table("turns"), doc="``recording`` + the turns table.")
    speakers = property(lambda self: self.table("speakers"), doc="``recording`` + the speakers table.")

    def to_parquet(self, path: str | os.PathLike, *, kinds: tuple[str, ...] | list[str] = KINDS) -> str:
        """Write each table as Parquet partitioned by recording: ``<path>/<kind>/recording=<name>/part-0.parquet``.

        Every file is written atomically; writing again replaces a recording's file. *path* may
        be an fsspec URL. Read the tables back with :func:`read_parquet` (or any Parquet reader
        that knows hive partitioning: pyarrow, dask, DuckDB, Spark).

        Returns
        -------
        str
            *path*.
        """
        folder = Location(path)
        for kind in kinds:
            frame = self.table(kind)
            if self.lazy:
                frame.map_partitions(
                    _write_recordings, folder=folder, kind=kind, meta={"rows": "int64"}
                ).compute()
            else:
                _write_recordings(frame, folder=folder, kind=kind)
        return folder.root


def tables(source: Any, *, lazy: bool | None = None) -> Corpus:
    """Many transcripts as one table per kind, each with a categorical ``recording`` column.

    Parameters
    ----------
    source : mapping, folder, URL or TranscriptCache
        A :class:`~voxnb.runs.BatchResult` or any mapping recording name → Transcript (tuple
        keys, as in ``Experiment.transcripts``, are joined with ``/``); a folder (or fsspec
        URL) of transcripts saved as ``*.voxnb.json`` (named by their path inside it, without
        the suffix); or a transcription cache (a :class:`~voxnb.cache.TranscriptCache`, or its
        folder), whose recordings are named by the first 16 hex digits of their cache key.
        Word times that came from forced alignment are not in the cache (it keeps the raw
        response): read aligned transcripts from a BatchResult or saved files.
    lazy : bool, optional
        ``True`` for ``dask.dataframe`` tables, ``False`` for pandas; by default pandas unless
        the source's JSON on disk exceeds :data:`EAGER_LIMIT`.

    Returns
    -------
    Corpus
        ``.segments``, ``.words``, ``.turns``, ``.speakers``, ``.to_parquet(path)``.

    Examples
    --------
    >>> import voxnb
    >>> a = voxnb.Transcript.from_response({"text": "one two"})
    >>> b = voxnb.Transcript.from_response({"text": "three"})
    >>> corpus = voxnb.corpus.tables({"a": a, "b": b})
    >>> corpus.words[["recording", "word", "text"]].values.tolist()
    [['a', 0, 'one'], ['a', 1, 'two'], ['b', 0, 'three']]
    >>> corpus.words.groupby("recording", observed=True).size().to_dict()
    {'a': 2, 'b': 1}
    """
    sources, sizes = _sources(source)
    if lazy is None:
        lazy = sum(sizes) > EAGER_LIMIT
    return Corpus(sources, sizes, lazy=bool(lazy))


def _sources(source: Any) -> tuple[list[tuple[str, Any]], list[int]]:
    """(recording, transcript or loader) pairs and each one's size in bytes of JSON (0 when in memory)."""
    from voxnb.transcript import Transcript

    if isinstance(source, Mapping):
        pairs = []
        for key, transcript in source.items():
            if not isinstance(transcript, Transcript):
                raise ParameterError(
                    f"tables() takes a mapping name → Transcript; {key!r} is a {type(transcript).__name__}"
                )
            name = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
            pairs.append((name, transcript))
        return pairs, [0] * len(pairs)
    if isinstance(source, TranscriptCache):
        sizes = source.sizes()
        return [(key[:16], _Entry(source, key)) for key in sizes], list(sizes.values())
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(
            "tables() takes a BatchResult (or a dict name → Transcript), a folder or URL of "
            f"*.voxnb.json files, or a TranscriptCache; got {type(source).__name__}"
        )
    folder = Location(source)
    saved = folder.glob(f"**/*{SAVED_SUFFIX}")
    if saved:
        return [(name.removesuffix(SAVED_SUFFIX), _Saved(folder, name)) for name in saved], list(
            saved.values()
        )
    cache = TranscriptCache(source)
    if cache.sizes():
        return _sources(cache)
    raise ParameterError(
        f"{folder.root} holds no *{SAVED_SUFFIX} transcripts (save them with t.save('name{SAVED_SUFFIX}')) "
        "and no transcription cache entries"
    )


def _empty(kind: str, recordings: list[str]) -> pd.DataFrame:
    """A table with no rows and the contract's columns and dtypes (the meta of a lazy table)."""
    from voxnb.transcript import Transcript

    return _partition_table(
        [("", Transcript.from_response({"text": ""}))], kind=kind, recordings=[*recordings, ""]
    ).assign(recording=lambda f: f["recording"].cat.remove_categories([""]))


def _partition_table(sources: list[tuple[str, Any]], *, kind: str, recordings: list[str]) -> pd.DataFrame:
    """One table of the *sources*: the transcripts' tables stacked (``voxnb.concat``), with ``recording``."""
    from voxnb.transcript import concat

    stacked = concat({name: _load(src) for name, src in sources}, level=kind)
    stacked["run"] = stacked["run"].cat.set_categories(recordings)
    return stacked.rename(columns={"run": "recording"})


def _write_recordings(frame: pd.DataFrame, *, folder: Location, kind: str) -> pd.DataFrame:
    """Write one Parquet file per recording of *frame* (the column itself lives in the folder name)."""
    import pandas as pd

    rows = []
    for name, part in frame.groupby("recording", observed=True, sort=False):
        data = part.drop(columns="recording").reset_index(drop=True).to_parquet(index=False)
        folder.write(f"{kind}/recording={quote(str(name), safe='')}/part-0.parquet", data)
        rows.append(len(part))
    return pd.DataFrame({"rows": pd.array(rows, dtype="int64")})


def read_parquet(path: str | os.PathLike, kind: str = "words", *, lazy: bool = False) -> Any:
    """Read a table written by :meth:`Corpus.to_parquet`, with the DataFrame contract's dtypes.

    Parameters
    ----------
    path : str or os.PathLike
        The folder given to ``to_parquet`` (or an fsspec URL).
    kind : {"segments", "words", "turns", "speakers"}
    lazy : bool
        A ``dask.dataframe`` (one partition per recording) instead of pandas.

    Examples
    --------
    >>> corpus.to_parquet("corpus/")                                # doctest: +SKIP
    >>> words = voxnb.corpus.read_parquet("corpus/", "words")       # doctest: +SKIP
    """
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    folder = Location(path)
    where = folder.path(kind)
    if not folder.glob(f"{kind}/recording=*/*.parquet"):
        raise ParameterError(f"no {kind} table in {folder.root}: write one with corpus.to_parquet(path)")
    if lazy:
        import dask.dataframe as dd

        frame = dd.read_parquet(where, dataset={"partitioning": "hive"})
        return frame.map_partitions(
            _contract_dtypes, kind=kind, meta=_contract_dtypes(frame._meta, kind=kind)
        )
    import pandas as pd

    return _contract_dtypes(pd.read_parquet(where, partitioning="hive"), kind=kind)


def _contract_dtypes(frame: pd.DataFrame, *, kind: str) -> pd.DataFrame:
    """*frame* with ``recording`` first and the contract's dtypes (Parquet keeps values, not categories)."""
    import pandas as pd

    from voxnb.frames import TIMINGS

    empty = _empty(kind, [])
    out = frame[list(empty.columns)].copy()
    for column, dtype in empty.dtypes.items():
        if column in ("recording", "speaker"):
            values = out[column].astype(object).where(out[column].notna(), None)
            out[column] = pd.Categorical(
                values, categories=list(dict.fromkeys(v for v in values if v is not None))
            )
        elif column == "timing":
            out[column] = pd.Categorical(out[column].astype(object), categories=TIMINGS)
        else:
            out[column] = out[column].astype(dtype)
    return out.reset_index(drop=True)
