"""Experiments: the same audio transcribed under several bias lists, scored, with intervals.

An :class:`Experiment` crosses items (audio, reference, rare words) with conditions (named bias
lists or builders), transcribes every pair through a backend, and scores every condition
against the *same* per-item list (the union of the lists the conditions give that item), so the
conditions differ only by their transcripts and compare pair by pair.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import re
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from voxnb.bias.data import BiasItem, as_items
from voxnb.bias.scoring import ngram_counts
from voxnb.credentials import secret_api_key
from voxnb.errors import ParameterError, VoxnbError, safe_repr
from voxnb.request import TranscriptionRequest, bias_terms
from voxnb.text.normalization import Normalizer, normalize, normalize_term

__all__ = ["Experiment"]

#: labels that are the same on every row of a summary, shown once (``.attrs``) rather than per row
_LABELS = ("n_boot", "blocks", "backend", "model", "normalizer", "convention")

_ORACLE_PLUS = re.compile(r"^oracle\s*\+\s*(\d+)(\s*distractors?)?$", re.IGNORECASE)

ConditionSpec = Any  # "none" | "oracle" | "oracle+N" | list of terms | callable(item) -> list


def _condition_name(spec: ConditionSpec, k: int) -> str:
    if spec is None:
        return "none"
    if isinstance(spec, str):
        return spec
    if callable(spec):
        return getattr(spec, "__name__", f"condition{k}")
    return f"list{k}"


#: the longest list a condition builds: Voxtral 2's cap on context_bias, and the benchmark's largest list
MAX_LIST = 100


def _as_terms(terms: Any, where: str) -> list[str]:
    """A condition's list as the request contract reads ``context_bias`` (same checks, same messages)."""
    try:
        out = list(TranscriptionRequest.create(context_bias=terms).context_bias)
    except ParameterError as err:
        raise ParameterError(f"{where}: {err}", option="context_bias") from None
    if len(out) > MAX_LIST:
        raise ParameterError(
            f"{where}: {len(out)} terms, but context_bias accepts at most {MAX_LIST}; shorten the list"
        )
    return out


class Experiment:
    """Items × bias-list conditions → transcripts → literature-exact scores with intervals.

    Parameters
    ----------
    items : sequence
        :class:`~voxnb.bias.data.BiasItem` objects, dicts (``audio``, ``reference``,
        ``rare_words``, optional ``name``, ``block``) or tuples ``(audio, reference, rare_words)``.
    conditions : sequence or mapping name -> spec
        Each spec is ``"none"`` (no list), ``"oracle"`` (the item's own rare words),
        ``"oracle+N"`` (its rare words plus N distractors drawn reproducibly from *distractors*,
        at most 100 terms in all: N is lowered to fit), a list of terms (the same for every
        item), or a function ``item -> list of terms``. Lists are checked as ``context_bias`` is
        and sent as given (Voxtral 3 and the offline engine take phrases; Voxtral 2 wants single
        terms: :func:`voxnb.bias_terms`); the oracle's rare words are joined with ``_``.
    client : object, optional
        What transcribes: a :class:`voxnb.Client` or :class:`voxnb.AsyncClient` (each condition
        is one ``transcribe_many`` call whose items carry their own ``context_bias``), or any
        object with ``transcribe(audio, **params) -> Transcript`` (called one item at a time).
        Without one, the backend is chosen from *backend*, *api_key*, *base_url*, *dialect* and
        *engine* as for :func:`voxnb.transcribe` (a server at ``base_url``, Mistral's API with a
        key, else the embedded offline engine) and announced once.
    backend, api_key, base_url, dialect, engine : optional
        See :func:`voxnb.backend.resolve_backend`.
    distractors : sequence of str, optional
        The pool ``oracle+N`` draws from (e.g. :func:`voxnb.bias.bundled_distractors`).
    seed : int, default 0
        Seed of the distractor draws (each item's draw depends on the seed and its name only,
        and ``oracle+5`` is a prefix of ``oracle+20``).
    convention : {"reference-rare", "full-list"}, default "reference-rare"
    normalizer : {"whisper-en", "basic", None} or callable, default "whisper-en"
        How every condition is scored (see :func:`voxnb.bias.score`).
    params : dict, optional
        Further transcription parameters for every request (``temperature`` defaults to 0).

    Examples
    --------
    >>> from voxnb import bias
    >>> exp = bias.Experiment(bias.load_bundled(), ["none", "oracle", "oracle+10"],
    ...                       distractors=bias.bundled_distractors())
    >>> len(exp.lists["oracle+10"]["b01"])
    12
    >>> exp.run()                                   # doctest: +SKIP
    >>> exp.summary(n_boot=1000)                    # doctest: +SKIP
    >>> exp.compare(baseline="none")                # doctest: +SKIP
    """

    @secret_api_key
    def __init__(self, items: Sequence[Any], conditions: Sequence[ConditionSpec] | Mapping[str, ConditionSpec] = ("none", "oracle"),
                 *, client: Any = None, backend: Any = None, api_key: str | None = None,
                 base_url: str | None = None, dialect: str | None = None, engine: Any = None,
                 distractors: Sequence[str] | None = None, seed: int = 0,
                 convention: str = "reference-rare", normalizer: Normalizer = "whisper-en",
                 params: Mapping[str, Any] | None = None):  # fmt: skip
        from voxnb.bias.scoring import CONVENTIONS
        from voxnb.text.normalization import resolve_normalizer

        self.items: list[BiasItem] = as_items(items)
        self._by_name = {it.name: it for it in self.items}
        if isinstance(conditions, (str, bytes)):
            raise ParameterError("conditions must be a list (or dict name -> spec), e.g. ['none', 'oracle']")
        if isinstance(conditions, Mapping):
            specs = {str(k): v for k, v in conditions.items()}
        else:
            specs = {}
            for k, spec in enumerate(conditions):
                name = _condition_name(spec, k)
                if name in specs:
                    raise ParameterError(f"two conditions are named {name!r}; pass a dict name -> spec")
                specs[name] = spec
        if not specs:
            raise ParameterError("an experiment needs at least one condition")
        if convention not in CONVENTIONS:
            raise ParameterError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
        resolve_normalizer(normalizer)  # fail now, not after the transcriptions
        self.conditions = specs
        self.client = client
        if client is None:
            from voxnb.backend import resolve_backend

            self.backend = resolve_backend(
                backend, api_key=api_key, base_url=base_url, dialect=dialect, engine=engine
            )
        elif any(v is not None for v in (backend, api_key, base_url, dialect, engine)):
            raise ParameterError(
                "give either client= or the backend's settings (backend=, base_url=, ...), not both"
            )
        else:
            self.backend = None  # the client decides
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError(f"seed must be a whole number, 0 or more; got {seed!r}")
        self.seed = seed
        self.convention = convention
        self.normalizer = normalizer
        self.params = {"temperature": 0.0, **dict(params or {})}
        if "context_bias" in self.params:
            raise ParameterError("context_bias is set per condition; remove it from params=")
        TranscriptionRequest.create(**self.params)  # refuse bad options now, not after the first condition
        self.distractors = None if distractors is None else _as_terms_pool(distractors)
        #: condition -> item name -> the context_bias list it is transcribed with
        self.lists: dict[str, dict[str, list[str]]] = {
            name: {it.name: self._build(spec, it, name) for it in self.items} for name, spec in specs.items()
        }
        #: (item, condition) -> Transcript, filled by :meth:`run` (kept across interrupted runs)
        self.transcripts: dict[tuple[str, str], Any] = {}
        #: (item, condition) -> the exception that stopped it (retried by the next :meth:`run`)
        self.errors: dict[tuple[str, str], Exception] = {}
        #: the batch job of the latest ``run(mode="batch")`` (None otherwise)
        self.job_id: str | None = None
        self._scores: dict[str, Any] | None = None

    # -- lists -----------------------------------------------------------------------------
    @functools.cached_property
    def _pool_keys(self) -> list[tuple[str, ...]]:
        return [tuple(normalize_term(t, self.normalizer).split()) for t in self.distractors or ()]

    def _distractors_for(self, item: BiasItem, n: int) -> list[str]:
        """The first *n* of the item's distractors in a fixed random order (pool terms absent from it).

        The order depends on the seed and the item's name only, so smaller draws are prefixes
        of larger ones.
        """
        if self.distractors is None:
            raise ParameterError(
                "an 'oracle+N' condition needs distractors=[...] (e.g. voxnb.bias.bundled_distractors())"
            )
        keys = self._pool_keys
        ref = normalize(item.reference, self.normalizer).split()
        excluded = set(ngram_counts(ref, set(map(len, keys))))
        excluded.update(tuple(normalize_term(t, self.normalizer).split()) for t in item.rare_words)
        rng = np.random.default_rng([self.seed, zlib.crc32(item.name.encode())])
        chosen: list[str] = []
        for k in rng.permutation(len(keys)):
            if len(chosen) >= n:
                break
            if keys[k] not in excluded:
                chosen.append(self.distractors[k])
        return chosen

    def _build(self, spec: ConditionSpec, item: BiasItem, name: str) -> list[str]:
        where = f"condition {name!r}, item {item.name!r}"
        if spec is None or (isinstance(spec, str) and spec.strip().lower() == "none"):
            return []
        if isinstance(spec, str):
            # rare words are phrases; as terms, they are written the way every model accepts
            oracle = _as_terms(bias_terms(item.rare_words), where)
            if spec.strip().lower() == "oracle":
                return oracle
            match = _ORACLE_PLUS.match(spec.strip())
            if not match:
                raise ParameterError(
                    f"unknown condition {spec!r}; use 'none', 'oracle', 'oracle+N', a list of terms, "
                    "or a function item -> list"
                )
            room = MAX_LIST - len(oracle)  # context_bias's cap: distractors give way
            return oracle + self._distractors_for(item, min(int(match.group(1)), room))
        if callable(spec):
            return _as_terms(spec(item), where)
        return _as_terms(spec, where)

    @property
    def scoring_lists(self) -> dict[str, list[str]]:
        """Per item, the list every condition is scored against: the union of its conditions' lists."""
        out = {}
        for it in self.items:
            merged = list(it.rare_words)
            for lists in self.lists.values():
                merged.extend(lists[it.name])
            out[it.name] = list(dict.fromkeys(merged))
        return out

    # -- transcription ---------------------------------------------------------------------
    def pending(self) -> list[tuple[str, str]]:
        """(item, condition) pairs not transcribed yet."""
        return [
            (it.name, c) for c in self.conditions for it in self.items if (it.name, c) not in self.transcripts
        ]

    def run(
        self,
        *,
        concurrency: int = 4,
        cache: Any = True,
        progress: bool = True,
        mode: str = "requests",
        executor: Any = None,
    ) -> Experiment:
        """Transcribe every (item, condition) pair not done yet; failures land in :attr:`errors`.

        Parameters
        ----------
        concurrency : int, default 4
            Requests in flight at once (HTTP clients, one condition after another, even when
            every item has a list of its own; the offline engine runs one at a time).
        cache : bool or path, default True
            The transcription cache (see :meth:`voxnb.Client.transcribe_many`): a re-run, or a
            run after an interruption, only transcribes what is missing.
        progress : bool, default True
            Show a progress bar.
        mode : {"requests", "batch"}, default "requests"
            ``"batch"`` sends every pending (item, condition) pair as one job of the server's
            Batch API (Mistral's, or ``voxnb serve``'s; see :meth:`voxnb.Client.submit_batch`),
            each line with its own ``context_bias``, and waits for it; re-running after a kernel
            restart picks the same job up, and its results share the transcription cache.
        executor : dask.distributed.Client, optional
            Transcribe on this Dask cluster: each (item, condition) is a task, each worker loads
            the offline engine once (see :func:`voxnb.transcribe_many`); the cache should be a
            folder or URL every worker reaches.

        Returns
        -------
        Experiment
            ``self``, so that ``exp.run().summary()`` reads naturally.

        Examples
        --------
        >>> exp.run(executor=dask_client, cache="/shared/voxnb-cache").summary()  # doctest: +SKIP
        """
        if self.client is not None and inspect.iscoroutinefunction(
            getattr(self.client, "transcribe_many", None)
        ):
            raise ParameterError("this client is asynchronous: use `await exp.arun()` (or pass voxnb.Client)")
        if mode not in ("requests", "batch"):
            raise ParameterError(f"mode must be 'requests' or 'batch'; got {mode!r}", option="mode")
        if mode == "batch" and executor is not None:
            raise ParameterError(
                "mode='batch' runs on the server's Batch API and executor= on a Dask cluster: choose one",
                option="executor",
            )
        if mode == "batch" and self.client is not None and not hasattr(self.client, "submit_batch"):
            raise ParameterError("mode='batch' needs a voxnb.Client (or no client= and a base_url=/API key)")
        with self._progress(progress) as bar:
            if bar is None:
                return self
            if mode == "batch":
                self._run_batch(cache, bar, progress)
            elif self.client is None or hasattr(self.client, "transcribe_many"):
                for k, (cond, names) in enumerate(self._pending_by_condition().items()):
                    self._batch(cond, names, concurrency, cache, bar, announce=k == 0, executor=executor)
            elif executor is not None:
                raise ParameterError("executor= needs a client with transcribe_many (voxnb.Client)")
            else:
                self._run_one_by_one(self.pending(), bar)
        return self

    async def arun(self, *, concurrency: int = 4, cache: Any = True, progress: bool = True) -> Experiment:
        """:meth:`run` for a :class:`voxnb.AsyncClient`: *concurrency* requests in flight per condition.

        Examples
        --------
        >>> exp = bias.Experiment(items, ["none", "oracle"], client=voxnb.AsyncClient())  # doctest: +SKIP
        >>> await exp.arun(concurrency=8)                                                 # doctest: +SKIP
        """
        if self.client is None or not inspect.iscoroutinefunction(
            getattr(self.client, "transcribe_many", None)
        ):
            raise ParameterError(
                "arun() needs an asynchronous client such as voxnb.AsyncClient; use run() otherwise"
            )
        with self._progress(progress) as bar:
            if bar is None:
                return self
            for cond, names in self._pending_by_condition().items():
                await self._abatch(cond, names, concurrency, cache, bar)
        return self

    @contextlib.contextmanager
    def _progress(self, progress: bool):
        self._scores = None
        total = len(self.pending())
        if not total:
            yield None
            return
        from tqdm.auto import tqdm

        bar = tqdm(total=total, disable=not progress, desc="experiment", unit="transcript")
        try:
            yield bar
        finally:
            bar.close()

    def _item(self, name: str) -> BiasItem:
        return self._by_name[name]

    def _record(self, key: tuple[str, str], transcript: Any = None, error: Exception | None = None) -> None:
        if error is None:
            self.transcripts[key] = transcript
            self.errors.pop(key, None)
        else:
            self.errors[key] = error

    def _pending_by_condition(self) -> dict[str, list[str]]:
        """Pending work as condition -> item names: each condition is one batch."""
        by_condition: dict[str, list[str]] = {}
        for name, cond in self.pending():
            by_condition.setdefault(cond, []).append(name)
        return by_condition

    def _batch_call(self, cond, names, concurrency, cache, *, announce=False, executor=None):
        # every item carries its own list, so items with different lists share the batch
        items = {
            n: {"audio": self._item(n).audio, "context_bias": self.lists[cond][n] or None} for n in names
        }
        if self.client is not None:
            cluster = {} if executor is None else {"executor": executor}  # async clients take none
            return self.client.transcribe_many(
                items, concurrency=concurrency, cache=cache, progress=False, **cluster, **self.params
            )
        from voxnb.backend import transcribe_many

        return transcribe_many(
            items,
            backend=self.backend,
            concurrency=None if self.backend.is_local else concurrency,
            cache=cache,
            progress=False,
            quiet=not announce,
            executor=executor,
            **self.params,
        )

    def _batch_done(self, cond, names, result, bar) -> None:
        failed = getattr(result, "errors", {}) or {}
        for n in names:
            if n in failed:
                self._record((n, cond), error=failed[n])
            elif n in result:
                self._record((n, cond), result[n])
        bar.update(len(names))

    def _batch(self, cond, names, concurrency, cache, bar, *, announce=False, executor=None) -> None:
        try:
            result = self._batch_call(cond, names, concurrency, cache, announce=announce, executor=executor)
        except VoxnbError as err:  # refused before sending (e.g. a parameter): the group fails, not the run
            result = _Failed(names, err)
        self._batch_done(cond, names, result, bar)

    async def _abatch(self, cond, names, concurrency, cache, bar) -> None:
        try:
            result = await self._batch_call(cond, names, concurrency, cache)
        except VoxnbError as err:
            result = _Failed(names, err)
        self._batch_done(cond, names, result, bar)

    def _run_batch(self, cache, bar, progress) -> None:
        """Every pending pair in one batch job (each line carries its own list)."""
        todo = {f"{name}/{cond}": (name, cond) for name, cond in self.pending()}
        items = {
            key: {"audio": self._item(name).audio, "context_bias": self.lists[cond][name] or None}
            for key, (name, cond) in todo.items()
        }
        options = {"cache": cache, "progress": progress, "mode": "batch", **self.params}
        try:
            if self.client is not None:
                result = self.client.transcribe_many(items, **options)
            else:
                from voxnb.backend import transcribe_many

                result = transcribe_many(items, backend=self.backend, **options)
        except VoxnbError as err:  # refused before a job existed: every pair fails, the run does not
            result = _Failed(list(todo), err)
        failed = getattr(result, "errors", {}) or {}
        for key, pair in todo.items():
            if key in failed:
                self._record(pair, error=failed[key])
            elif key in result:
                self._record(pair, result[key])
        self.job_id = getattr(result, "job_id", None)
        bar.update(len(todo))

    def _run_one_by_one(self, todo, bar) -> None:
        for name, cond in todo:
            try:
                t = self.client.transcribe(
                    self._item(name).audio, context_bias=self.lists[cond][name] or None, **self.params
                )
                self._record((name, cond), t)
            except VoxnbError as err:  # one bad item must not stop the others
                self._record((name, cond), error=err)
            bar.update(1)

    # -- scores ----------------------------------------------------------------------------
    @property
    def complete_items(self) -> list[BiasItem]:
        """Items transcribed under every condition: the ones scored (pairing needs all)."""
        return [it for it in self.items if all((it.name, c) in self.transcripts for c in self.conditions)]

    @property
    def scores(self) -> dict[str, Any]:
        """Condition -> :class:`~voxnb.bias.scoring.BiasScore` over :attr:`complete_items`."""
        if self._scores is None:
            from voxnb.bias.scoring import score

            items = self.complete_items
            if not items:
                raise ParameterError("nothing to score yet: call run() first (or see .errors)")
            if len(items) < len(self.items):
                warnings.warn(
                    f"{len(self.items) - len(items)} item(s) lack a transcript under some condition and are "
                    "left out of every condition's score (see .errors; run() again to retry them)",
                    stacklevel=2,
                )
            lists = self.scoring_lists
            refs = {it.name: it.reference for it in items}
            self._scores = {
                c: score(
                    refs,
                    {it.name: self.transcripts[(it.name, c)] for it in items},
                    {it.name: lists[it.name] for it in items},
                    convention=self.convention,
                    normalizer=self.normalizer,
                )
                for c in self.conditions
            }
        return self._scores

    def rescored(self, *, convention: str | None = None, normalizer: Normalizer | str = "keep") -> Experiment:
        """The same transcripts scored another way (a copy; nothing is transcribed again).

        Examples
        --------
        >>> full = exp.rescored(convention="full-list")      # doctest: +SKIP
        >>> full.summary(measures=["b_wer"])                   # doctest: +SKIP
        """
        from voxnb.bias.scoring import CONVENTIONS
        from voxnb.text.normalization import resolve_normalizer

        other = copy.copy(self)
        if convention is not None:
            if convention not in CONVENTIONS:
                raise ParameterError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
            other.convention = convention
        if not (isinstance(normalizer, str) and normalizer == "keep"):
            resolve_normalizer(normalizer)
            other.normalizer = normalizer
        other.transcripts = dict(self.transcripts)
        other.errors = dict(self.errors)
        other._scores = None
        return other

    @property
    def results(self):
        """Tidy table: one row per (item, condition) with its list size, hypothesis and measures."""
        import pandas as pd

        frames = []
        for cond, res in self.scores.items():
            df = res.utterances.rename(columns={"id": "item"})
            df.insert(1, "condition", cond)
            df.insert(2, "bias_list_size", [len(self.lists[cond][i]) for i in df["item"]])
            df.insert(3, "hypothesis", res.raw_hyps)
            for k, v in res.info.items():
                df[k] = v
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        out["condition"] = pd.Categorical(out["condition"], categories=list(self.conditions))
        return out

    def _blocks(self, blocks: Any):
        if blocks is None or blocks == "item":
            return None
        items = self.complete_items
        if blocks == "block":
            labels = [it.block for it in items]
            if any(b is None for b in labels):
                raise ParameterError("blocks='block' needs every item to have a block (speaker, recording)")
            return labels
        if isinstance(blocks, Mapping):
            return [blocks[it.name] for it in items]
        raise ParameterError(
            "blocks must be None (resample items), 'block' (the items' block labels) or a dict item -> label"
        )

    def summary(self, *, measures: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
                blocks: Any = None, ci: float = 0.95):  # fmt: skip
        """Each measure per condition with its bootstrap interval (one shared resample).

        Returns
        -------
        voxnb.bias.tables.ResultTable
            A DataFrame ``condition, measure, estimate, low, high``; what is the same on every
            row (``n_boot``, ``blocks``, ``backend``, ``model``, ``normalizer``, ``convention``,
            ``ci``, ``seed``) is in ``.attrs`` and shown once above the rows (a label that differs
            between conditions stays a column).

        Examples
        --------
        >>> exp.summary(measures=["wer", "b_wer"])            # doctest: +SKIP
        backend=local, model=faster-whisper-tiny.en, ..., ci=0.95, seed=0
          condition measure  estimate       low      high
        0      none     wer  0.142857  0.085714  0.200000
        """
        from voxnb.bias.stats import bootstrap
        from voxnb.bias.tables import tidy

        table = bootstrap(
            self.scores, measures=measures, n_boot=n_boot, seed=seed, blocks=self._blocks(blocks), ci=ci
        )
        table = table.rename(columns={"system": "condition"})
        return tidy(table, _LABELS, ci=ci, seed=seed)

    def compare(self, baseline: str | None = None, *, measures: Sequence[str] | None = None, n_boot: int = 1000,
                seed: int = 0, blocks: Any = None, ci: float = 0.95):  # fmt: skip
        """Paired differences of every other condition against *baseline* (default: the first).

        Returns
        -------
        pandas.DataFrame
            ``condition, baseline, measure, baseline_value, value, difference, low, high,
            p_improvement, p_tie`` and the labels; a negative difference in an error rate is an
            improvement.
        """
        import pandas as pd

        from voxnb.bias.stats import compare

        baseline = baseline or next(iter(self.conditions))
        if baseline not in self.conditions:
            raise ParameterError(f"no condition named {baseline!r}; choose from {list(self.conditions)}")
        scores = self.scores
        frames = []
        for cond in self.conditions:
            if cond == baseline:
                continue
            df = compare(scores[baseline], scores[cond], measures=measures, n_boot=n_boot, seed=seed,
                         blocks=self._blocks(blocks), ci=ci, names=("baseline_value", "value"))  # fmt: skip
            df.insert(0, "condition", cond)
            df.insert(1, "baseline", baseline)
            frames.append(df)
        if not frames:
            raise ParameterError("compare() needs at least two conditions")
        return pd.concat(frames, ignore_index=True)

    def terms(self, condition: str | None = None):
        """Per condition, each term's counts with only that condition's list counted as listed.

        ``listed`` is the number of items whose list under the condition holds the term and
        ``absent`` how many of those lack it in the reference; ``absent_inserted`` counts a
        hypothesis producing the term only where the condition listed it (a distractor taken
        up). ``gt``, ``tp``, ``fp``, ``recall`` and ``spelling_accuracy`` are as in
        :attr:`voxnb.bias.scoring.BiasScore.terms`: every reference occurrence counts, so a
        term's recall compares across conditions.

        Parameters
        ----------
        condition : str, optional
            One condition; by default all, with a ``condition`` column.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        from voxnb.bias.scoring import ratio

        names = list(self.conditions) if condition is None else [self._condition(condition)]
        items = self.complete_items
        frames = []
        for cond in names:
            listed: dict[str, int] = {}
            absent: dict[str, int] = {}
            listed_keys: set[tuple[str, str]] = set()
            for it in items:
                ref = f" {' '.join(normalize(it.reference, self.normalizer).split())} "
                for term in dict.fromkeys(
                    normalize_term(t, self.normalizer) for t in self.lists[cond][it.name]
                ):
                    if not term:
                        continue
                    listed_keys.add((it.name, term))
                    listed[term] = listed.get(term, 0) + 1
                    absent[term] = absent.get(term, 0) + (f" {term} " not in ref)
            hits = self.scores[cond].term_hits
            if hits.empty:
                hits = pd.DataFrame(columns=["id", "term", "listed_as", "gt", "tp", "fp", "spell_total",
                                             "spell_correct", "absent_inserted"])  # fmt: skip
            own = np.fromiter(
                ((str(i), str(t)) in listed_keys for i, t in zip(hits["id"], hits["term"])),
                dtype=bool,
                count=len(hits),
            )
            keep = (hits["gt"].to_numpy() > 0) | own
            hits = hits[np.asarray(keep, dtype=bool)]
            numbers = ["gt", "tp", "fp", "spell_total", "spell_correct", "absent_inserted"]
            agg = hits.groupby(hits["term"].astype(str))[numbers].sum()
            spelled = hits.groupby(hits["term"].astype(str))["listed_as"].first()
            table = pd.DataFrame(
                {"listed": pd.Series(listed, dtype="int64"), "absent": pd.Series(absent, dtype="int64")}
            )
            table = table.join(agg, how="outer").fillna(0).astype("int64").join(spelled)
            table["recall"] = ratio(table["tp"].to_numpy(float), table["gt"].to_numpy(float))
            table["spelling_accuracy"] = ratio(
                table["spell_correct"].to_numpy(float), table["spell_total"].to_numpy(float)
            )
            table = (
                table.rename_axis("term")
                .reset_index()
                .sort_values(["gt", "listed", "term"], ascending=[False, False, True])
            )
            table.insert(0, "condition", cond)
            frames.append(table)
        out = pd.concat(frames, ignore_index=True)
        out["condition"] = pd.Categorical(out["condition"], categories=list(self.conditions))
        out["term"] = out["term"].astype("string")
        out["listed_as"] = out["listed_as"].astype("string")
        return out.drop(columns="condition") if condition is not None else out

    def _condition(self, name: str) -> str:
        if name not in self.conditions:
            raise ParameterError(f"no condition named {name!r}; choose from {list(self.conditions)}")
        return name

    # -- exports ---------------------------------------------------------------------------
    _TABLES = ("summary", "results", "compare", "terms")

    def _table(self, table: str, options: Mapping[str, Any]):
        if table not in self._TABLES:
            raise ParameterError(f"table must be one of {', '.join(self._TABLES)}; got {table!r}")
        if table == "results":
            return self.results
        if table == "terms":
            return self.terms(**options)
        return getattr(self, table)(**options)

    def to_csv(self, path: Any = None, *, table: str = "summary", **options: Any) -> str:
        """One of the lab's tables as CSV (``summary``, ``results``, ``compare`` or ``terms``).

        The summary's shared labels (backend, model, normaliser, convention, bootstrap
        settings) are written as leading ``# key: value`` lines (``pd.read_csv(path,
        comment="#")`` reads it back). *options* go to the table's method (``n_boot=``,
        ``measures=``...). Returns the text; writes it (atomically) when *path* is given.

        Examples
        --------
        >>> exp.to_csv("summary.csv", n_boot=2000)          # doctest: +SKIP
        >>> exp.to_csv("per_item.csv", table="results")     # doctest: +SKIP
        """
        frame = self._table(table, options)
        header = "".join(f"# {k}: {v}\n" for k, v in getattr(frame, "attrs", {}).items())
        text = header + frame.to_csv(index=False)
        if path is not None:
            from voxnb._atomic import write_atomic

            write_atomic(path, text)
        return text

    def to_latex(self, path: Any = None, *, table: str = "summary", caption: str | None = None,
                 label: str | None = None, **options: Any) -> str:  # fmt: skip
        """One of the lab's tables as a LaTeX table (booktabs), for a paper.

        The summary becomes conditions × measures, each cell ``estimate [low, high]`` (error
        rates in %), with a caption naming the interval, the backend, model, normaliser and
        convention; the other tables are written row by row. Returns the text; writes it
        (atomically) when *path* is given.

        Examples
        --------
        >>> print(exp.to_latex(measures=["wer", "b_wer"], label="tab:bias"))  # doctest: +SKIP
        """
        from voxnb.bias.tables import caption_of, latex_table, summary_latex

        frame = self._table(table, options)
        if table == "summary":
            text = summary_latex(frame, caption=caption, label=label)
        else:
            attrs = caption_of(getattr(frame, "attrs", {}))
            text = latex_table(
                frame, caption=caption or f"{table} ({attrs or self._describe()})", label=label
            )
        if path is not None:
            from voxnb._atomic import write_atomic

            write_atomic(path, text + "\n")
        return text

    def _describe(self) -> str:
        return f"normalizer={self.normalizer}, convention={self.convention}"

    def term_hits(self):
        """Per (condition, item, term) hits: the long table behind :meth:`plot_terms`."""
        import pandas as pd

        frames = [res.term_hits.assign(condition=cond) for cond, res in self.scores.items()]
        out = pd.concat(frames, ignore_index=True)
        out["condition"] = pd.Categorical(out["condition"], categories=list(self.conditions))
        return out

    # -- plots -----------------------------------------------------------------------------
    def plot_measures(
        self, measures: Sequence[str] = ("wer", "u_wer", "b_wer"), *, ax=None, **summary_options
    ):
        """Each measure per condition with its interval; see :func:`voxnb.bias.plot.plot_measures`."""
        from voxnb.bias.plot import plot_measures

        return plot_measures(self.summary(measures=measures, **summary_options), ax=ax)

    def plot_terms(self, *, ax=None):
        """Hit/miss of each reference term occurrence across conditions (:func:`voxnb.bias.plot.plot_term_heatmap`)."""
        from voxnb.bias.plot import plot_term_heatmap

        return plot_term_heatmap(self.term_hits(), ax=ax)

    def plot_forest(self, baseline: str | None = None, *, measures: Sequence[str] = ("wer", "u_wer", "b_wer"),
                    ax=None, **compare_options):  # fmt: skip
        """Paired differences against *baseline* with intervals (:func:`voxnb.bias.plot.plot_forest`)."""
        from voxnb.bias.plot import plot_forest

        return plot_forest(self.compare(baseline, measures=measures, **compare_options), ax=ax)

    @safe_repr
    def __repr__(self) -> str:
        done = len(self.transcripts)
        total = len(self.items) * len(self.conditions)
        backend = repr(self.backend) if self.client is None else type(self.client).__name__
        return (
            f"<Experiment {len(self.items)} items × {len(self.conditions)} conditions "
            f"({', '.join(self.conditions)}): {done}/{total} transcribed, {len(self.errors)} failed; "
            f"{backend}, normalizer={self.normalizer}, convention={self.convention}>"
        )


class _Failed(dict):
    """A batch refused as a whole: every item carries the same error."""

    def __init__(self, names, error):
        super().__init__()
        self.errors = dict.fromkeys(names, error)


def _as_terms_pool(pool: Sequence[str]) -> list[str]:
    if isinstance(pool, str) or not isinstance(pool, Iterable) or not all(isinstance(t, str) for t in pool):
        raise ParameterError("distractors must be a list of strings")
    return bias_terms(pool)
