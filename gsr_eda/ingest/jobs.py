"""Ingest jobs: what to read for one design, and the function that turns it into a record.

An :class:`IngestJob` is plain data (paths and options), so it can be sent to a worker
process; :func:`run_job` reads the design, its labels (or the proxy label), and builds the
graph and features. The parent process collects the records and writes the store once
(:func:`gsr_eda.store.write_designs`), so a failure in any job leaves the store untouched.

A manifest (``gsr-eda ingest manifest FILE.json``) lists several jobs; see :func:`read_manifest`.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gsr_eda import __version__
from gsr_eda.errors import InputError
from gsr_eda.graph import NET_MODELS
from gsr_eda.ingest.build import build_record
from gsr_eda.ingest.circuitnet import read_circuitnet_design
from gsr_eda.ingest.def_design import REPORT_KEYS, read_def_design
from gsr_eda.labels import CIRCUITNET_LABELS, LABEL_KINDS, proxy_congestion, read_labels
from gsr_eda.labels.array import load_numeric_array
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.schema import LABEL_REDUCTIONS

JOB_KINDS = ("def", "circuitnet")

#: Default CircuitNet label: the official one (GR horizontal + vertical overflow).
CIRCUITNET_DEFAULT_LABEL = "gr_overflow"


@dataclass
class IngestJob:
    """One design to ingest.

    ``kind="def"`` uses ``def_path`` and ``lef_paths`` (and ``label_kind`` for ``labels``);
    ``kind="circuitnet"`` uses ``root``, ``base`` and ``placement`` (``labels`` is then the
    directory holding the ``congestion_*`` maps, ``label_which`` chooses the map).
    ``label_options`` are keyword options of the DEF label reader (e.g. ``measure`` and
    ``tool`` for ``routed-def``), as text.
    Without ``labels`` the proxy congestion label is computed and marked as a proxy.
    """

    kind: str
    name: str | None = None
    def_path: Path | None = None
    lef_paths: list[Path] = field(default_factory=list)
    include_io_pins: bool = False
    keep_unconnected: bool = False
    gcell_tracks: int = 15
    root: Path | None = None
    base: str | None = None
    placement: Path | None = None
    gcell_size_um: float = 1.0
    labels: Path | None = None
    label_kind: str | None = None
    label_options: dict[str, str] = field(default_factory=dict)
    label_which: str = CIRCUITNET_DEFAULT_LABEL
    label_reduce: str = "max"
    net_model: str = "capped-clique"
    net_cap: int = 8
    proxy_measure: str = "utilisation"
    proxy_decomposition: str = "chain"

    def describe(self) -> str:
        """A short human label for progress bars and errors."""
        if self.name:
            return self.name
        if self.kind == "def" and self.def_path is not None:
            return self.def_path.name
        return str(self.placement.name if self.placement is not None else self.base)

    def check(self) -> None:
        """Cheap checks before any heavy work (options only; files are checked by the readers)."""
        if self.kind not in JOB_KINDS:
            raise InputError(f"unknown ingest kind {self.kind!r}; choose one of {', '.join(JOB_KINDS)}")
        if self.net_model not in NET_MODELS:
            raise InputError(f"unknown net model {self.net_model!r}; choose one of {', '.join(NET_MODELS)}")
        if self.net_cap < 2:
            raise InputError(f"--net-cap must be at least 2, got {self.net_cap}")
        if self.label_reduce not in LABEL_REDUCTIONS:
            raise InputError(
                f"unknown label reduction {self.label_reduce!r}; choose one of {', '.join(LABEL_REDUCTIONS)}"
            )
        if self.kind == "def":
            if self.def_path is None or not self.lef_paths:
                raise InputError("a DEF design needs a DEF file and at least one LEF file")
            if self.labels is not None:
                if not self.label_kind:
                    raise InputError("--labels needs --label-kind (what the file is)", self.labels)
                if self.label_kind not in LABEL_KINDS or self.label_kind == "circuitnet":
                    kinds = ", ".join(k for k in LABEL_KINDS if k != "circuitnet")
                    raise InputError(f"unknown label kind {self.label_kind!r} for a DEF design; choose one of {kinds}")
        elif self.root is None or self.base is None or self.placement is None:
            raise InputError("a CircuitNet design needs a root directory, a design base name and a placement file")
        if not isinstance(self.label_options, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.label_options.items()
        ):
            raise InputError("label options must map names to text values")
        if self.label_options and (self.labels is None or self.kind != "def"):
            raise InputError("label options need --labels and --label-kind on a DEF design")


@dataclass
class JobResult:
    """A built record and what to report about it."""

    record: DesignRecord
    report: dict[str, Any]
    timings: dict[str, float]


def run_job(job: IngestJob, on_step: Callable[[str], None] | None = None) -> JobResult:
    """Read one design and build its record; ``on_step`` is told the name of each step as it starts."""
    step = on_step or (lambda _name: None)
    job.check()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    step("reading design")
    report: dict[str, Any] = {}
    if job.kind == "def":
        design = read_def_design(
            job.def_path,
            job.lef_paths,
            name=job.name,
            include_io_pins=job.include_io_pins,
            keep_unconnected=job.keep_unconnected,
            gcell_tracks=job.gcell_tracks,
        )
        sources = {"def": str(job.def_path), "lef": [str(p) for p in job.lef_paths]}
        report = {key: design.source[key] for key in REPORT_KEYS if key in design.source}
    else:
        design, report = read_circuitnet_design(
            job.root, job.base, job.placement, gcell_size_um=job.gcell_size_um, grid_shape=_circuitnet_label_shape(job)
        )
        if job.name:
            design.name = job.name
        sources = {"root": str(job.root), "base": job.base, "placement": str(job.placement)}
    t1 = time.perf_counter()
    timings["read_s"] = t1 - t0

    step("reading labels" if job.labels is not None else "computing proxy label")
    label = _label(job, design)
    t2 = time.perf_counter()
    timings["label_s"] = t2 - t1

    step("building graph and features")
    metadata = {
        "tool_version": __version__,
        "kind": job.kind,
        "sources": sources,
        "labels": None if job.labels is None else str(job.labels),
        "units": {"length": "um"},
        "ingest_options": _options(job),
        "report": report,
    }
    record = build_record(
        design, net_model=job.net_model, cap=job.net_cap, label=label, label_reduce=job.label_reduce, metadata=metadata
    )
    timings["graph_s"] = time.perf_counter() - t2
    return JobResult(record=record, report=report, timings=timings)


def run_jobs(
    jobs: list[IngestJob],
    workers: int = 1,
    on_done: Callable[[IngestJob, JobResult], None] | None = None,
    on_step: Callable[[IngestJob, str], None] | None = None,
) -> list[JobResult]:
    """Run ``jobs`` in order, or over ``workers`` processes; results come back in job order.

    The first failure cancels the jobs not yet started and is raised unchanged (an
    :class:`InputError` from a worker keeps its one-line message). ``on_step`` is only called
    in-process (``workers == 1``): worker processes report completion through ``on_done``.
    """
    for job in jobs:
        job.check()
    done = on_done or (lambda _job, _result: None)
    if workers <= 1 or len(jobs) == 1:
        results = []
        for job in jobs:
            result = run_job(job, None if on_step is None else (lambda name, job=job: on_step(job, name)))
            done(job, result)
            results.append(result)
        return results

    # spawn, not fork: the parent may hold threads (progress bar, BLAS) that fork would copy mid-state.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context)
    try:
        futures = {pool.submit(run_job, job): i for i, job in enumerate(jobs)}
        results: list[JobResult | None] = [None] * len(jobs)
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                i = futures[future]
                results[i] = future.result()  # re-raises the worker's exception
                done(jobs[i], results[i])
        return results  # type: ignore[return-value]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _circuitnet_label_shape(job: IngestJob) -> tuple[int, int] | None:
    """The label map's shape, so the design's grid is built to line up with it exactly."""
    if job.labels is None:
        return None
    if job.label_which not in CIRCUITNET_LABELS:
        raise InputError(f"unknown CircuitNet label {job.label_which!r}; choose one of {', '.join(CIRCUITNET_LABELS)}")
    stage, measure = CIRCUITNET_LABELS[job.label_which]
    first_map = job.labels / f"congestion_{stage}_horizontal_{measure}" / f"{job.placement.stem}.npy"
    shape = load_numeric_array(first_map).shape
    if len(shape) != 2:
        raise InputError(f"CircuitNet label map must be 2-D, got shape {shape}", first_map)
    return shape  # type: ignore[return-value]


def _label(job: IngestJob, design):
    if job.labels is None:
        try:
            return proxy_congestion(design, measure=job.proxy_measure, decomposition=job.proxy_decomposition)
        except ValueError as err:
            raise InputError(f"proxy label: {err}") from None
    if job.kind == "circuitnet":
        return read_labels("circuitnet", job.labels, design=design, which=job.label_which, sample=job.placement.stem)
    return read_labels(job.label_kind, job.labels, design=design, **job.label_options)


def _options(job: IngestJob) -> dict[str, Any]:
    keep = ["net_model", "net_cap", "label_reduce"]
    if job.labels is None:
        keep += ["proxy_measure", "proxy_decomposition"]
    keep += (
        ["include_io_pins", "keep_unconnected", "gcell_tracks", "label_kind", "label_options"]
        if job.kind == "def"
        else [
            "gcell_size_um",
            "label_which",
        ]
    )
    opts = asdict(job)
    return {k: opts[k] for k in keep}


def read_manifest(path: str | Path) -> list[IngestJob]:
    """Jobs from a JSON manifest: ``{"designs": [entry, ...]}`` (or a bare list of entries).

    Each entry has ``"kind": "def"`` or ``"circuitnet"`` and the :class:`IngestJob` fields by
    name, with ``"def"`` for ``def_path`` and ``"lef"`` for ``lef_paths``. Relative paths are
    relative to the manifest's directory. Unknown keys are refused (they are usually typos).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such manifest file", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"not a readable JSON manifest: {err}", path) from None
    entries = data.get("designs") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InputError('manifest must be a non-empty list of designs, or {"designs": [...]}', path)
    return [_job_from_entry(entry, i, path) for i, entry in enumerate(entries)]


_PATH_FIELDS = {"def_path", "root", "placement", "labels"}
_PATH_LABEL_OPTIONS = {"failed_nets"}  # label options that name files, relative to the manifest too
_ALIASES = {"def": "def_path", "lef": "lef_paths"}


def _job_from_entry(entry: object, index: int, manifest: Path) -> IngestJob:
    where = f"design #{index + 1}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: each entry must be a JSON object", manifest)
    fields = {f for f in IngestJob.__dataclass_fields__}
    kwargs: dict[str, Any] = {}
    for key, value in entry.items():
        target = _ALIASES.get(key, key)
        if target not in fields:
            raise InputError(f"{where}: unknown key {key!r}", manifest)
        kwargs[target] = value
    if "kind" not in kwargs:
        raise InputError(f'{where}: missing "kind" ("def" or "circuitnet")', manifest)
    base = manifest.parent
    try:
        for key in _PATH_FIELDS & kwargs.keys():
            kwargs[key] = base / str(kwargs[key])
        options = kwargs.get("label_options")
        if isinstance(options, dict):
            kwargs["label_options"] = {
                k: str(base / v) if k in _PATH_LABEL_OPTIONS and isinstance(v, str) else v for k, v in options.items()
            }
        if "lef_paths" in kwargs:
            lefs = kwargs["lef_paths"]
            kwargs["lef_paths"] = [base / str(p) for p in ([lefs] if isinstance(lefs, str) else lefs)]
        for key, kind in [("net_cap", int), ("gcell_tracks", int), ("gcell_size_um", float)]:
            if key in kwargs:
                kwargs[key] = kind(kwargs[key])
    except (TypeError, ValueError) as err:
        raise InputError(f"{where}: {err}", manifest) from None
    job = IngestJob(**kwargs)
    try:
        job.check()
    except InputError as err:
        raise InputError(f"{where}: {err}", manifest) from None
    return job
