"""The run directory: what ``xcat pretrain`` / ``xcat quickstart`` create and later steps reopen.

Layout of a run directory::

    RUN/
      run.json                 how to rebuild the data and its split exactly: the data
                               spec, its data folder, sample_users, the ExperimentConfig
      models/<name>/           saved models (xcat.models.save): pretrained, scratch, one
                               per strategy, updated models from feedback
      recommenders/<name>/     the recommender of models/<name> (xcat.recommend.Recommender.save,
                               xcat.workflow.recommenders): what `xcat recommend` loads
      config.json, metrics.json, report.md, metrics.png
                               the report (xcat evaluate, xcat quickstart)
      recommendations.csv      example recommendations (xcat quickstart)

A run does not store its split: :meth:`Run.load_split` reloads the data and
splits it again with the recorded seed, which gives the same split. Each
saved model records the identity of the split it was trained on
(:func:`split_identity`, under ``extra["split"]`` of its ``config.json``), so
that ``xcat evaluate`` never scores a model on users it was trained on.

While a step writes a run, it holds the run's lock
(:func:`xcat.workflow.locks.writing`), ``.<run name>.lock`` beside it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xcat.workflow.errors import ArgumentError

#: User towers an experiment can train (``ExperimentConfig.user_tower``; the
#: CLI's choices, so named here without importing the models).
USER_TOWERS = ("mean", "sasrec", "gru")

if TYPE_CHECKING:
    from xcat.data.domains import CrossDomainData
    from xcat.recommend import Recommender
    from xcat.workflow.experiment import ExperimentConfig

__all__ = [
    "MODELS_DIR",
    "PRETRAINED",
    "RECOMMENDERS_DIR",
    "RUN_FILE",
    "SCRATCH",
    "SPLIT_KEY",
    "Run",
    "check_new_run_dir",
    "check_split",
    "data_fingerprint",
    "experiment_config",
    "load_data",
    "resolved_data_dir",
    "split_identity",
]

#: The file of a run directory that records how to rebuild its data and split.
RUN_FILE = "run.json"
#: The folder of a run directory holding its models, one folder each.
MODELS_DIR = "models"
#: The folder of a run directory holding each model's saved recommender, by model name.
RECOMMENDERS_DIR = "recommenders"
#: The source model ``xcat pretrain`` saves; the other steps start from it.
PRETRAINED = "pretrained"
#: The no-transfer baseline; ``mapping`` reuses it as its target model.
SCRATCH = "scratch"
#: The key of a saved model's ``extra`` metadata that holds :func:`split_identity`.
SPLIT_KEY = "split"


def check_new_run_dir(path: str | Path) -> None:
    """Refuse to write a run into another run's or a model's directory (they would mix).

    Parameters
    ----------
    path : str or pathlib.Path
        The run directory to create; it may exist if it holds neither a
        ``run.json``, nor a ``config.json``, nor models.

    Raises
    ------
    ArgumentError
        (``argument="out"``) If ``path`` is already a run directory, a saved
        model or holds models.
    """
    path = Path(path)
    for marker, what in ((RUN_FILE, "a run directory"), ("config.json", "a saved model")):
        if (path / marker).exists():
            raise ArgumentError("out", f"{path} is already {what} ({marker}); choose a new --out")
    if (path / MODELS_DIR).is_dir() and any((path / MODELS_DIR).iterdir()):
        raise ArgumentError("out", f"{path} already holds models; choose a new --out")


def experiment_config(
    config: ExperimentConfig | Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """Return an :class:`~xcat.workflow.experiment.ExperimentConfig`.

    Parameters
    ----------
    config : ExperimentConfig or mapping, optional
        A config (returned as is), or its fields by name where ``None`` means
        the default (as a CLI passes options it was not given); None: the
        defaults.

    Raises
    ------
    ValueError
        From :class:`ExperimentConfig` (unknown strategy, bad cut-offs...).
    TypeError
        If a mapping names a field ExperimentConfig does not have.
    """
    from xcat.workflow.experiment import ExperimentConfig

    if isinstance(config, ExperimentConfig):
        return config
    return ExperimentConfig(**{k: v for k, v in (config or {}).items() if v is not None})


def load_data(
    spec: str,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    sample_users: int | None = None,
    table: Mapping[str, Any] | None = None,
) -> CrossDomainData:
    """Load the source and target domains a dataset spec names, or those of one's own file.

    Parameters
    ----------
    spec : str
        ``synthetic``, ``NAME:SOURCE:TARGET`` or a dataset folder (see
        :func:`xcat.data.datasets.load`); with ``table``, a file or folder
        of interactions :func:`~xcat.workflow.stats.load_inputs` reads
        (CSV / TSV / Parquet, Amazon reviews, MovieLens, ...).
    data_dir : str or pathlib.Path, optional
        Data directory of the named datasets.
    seed : int, default 0
        Seed of the synthetic generator and of ``sample_users``.
    sample_users : int, optional
        Keep every overlapping user but only this many others per domain
        (:func:`xcat.data.domains.sample_users`).
    table : mapping, optional
        One's own data: ``{"source": [...], "target": [...], "read": {...}}``:
        the category values of the source and target domains (given as
        text; cast to integers where the table's categories are), and the
        reading options of :func:`~xcat.workflow.stats.load_inputs`
        (``user``, ``item``, ``category``, ``timestamp`` columns...). The
        table is split with :func:`xcat.data.domains.select_domains`.

    Returns
    -------
    CrossDomainData

    Raises
    ------
    ArgumentError
        (``argument="data"``) If the spec cannot be parsed
        (:class:`xcat.data.datasets.DatasetSpecError`), or is a file of
        interactions without ``table`` domains (the message lists its
        categories); (``argument="source"`` / ``"target"``) a ``table``
        without one of them.
    ValueError, FileNotFoundError
        From the loaders (unknown domains, broken files, no data directory).
    """
    from xcat.data import datasets

    if table is not None or _is_table_file(spec):
        data = _own_data(spec, table or {})
    else:
        try:
            data = datasets.load(spec, data_dir, seed=seed)
        except datasets.DatasetSpecError as e:
            raise ArgumentError("data", str(e)) from e
    if sample_users is not None:
        from xcat.data.domains import sample_users as sample

        data = sample(data, sample_users, seed=seed)
    return data


def _spec_path(spec: str) -> Path | None:
    """Return the existing file or folder a dataset spec names, or None (a dataset name)."""
    from xcat.data.datasets import SYNTHETIC

    path = Path(spec)
    return path if spec != SYNTHETIC and path.exists() else None


def _is_table_file(spec: str) -> bool:
    """Whether ``spec`` names a file (a dataset folder or a dataset name is not one)."""
    path = _spec_path(spec)
    return path is not None and path.is_file()


def _own_data(spec: str, table: Mapping[str, Any]) -> CrossDomainData:
    """Read one's own interactions and split them into the ``table``'s source and target."""
    from xcat.data.domains import select_domains
    from xcat.data.interactions import Interactions
    from xcat.workflow.stats import cast_category, load_inputs

    path = _spec_path(spec)
    if path is None:
        raise ArgumentError(
            "data",
            f"--source/--target and the column options read a file or folder; {spec!r} is not one",
        )
    tables = [d for _, d in load_inputs([path], **dict(table.get("read", {})))]
    inter = next((d for d in tables if isinstance(d, Interactions)), None)
    if inter is None:
        raise ArgumentError(
            "data", f"{spec} holds source/target pairs, not a table: give the folder alone"
        )
    sources, targets = list(table.get("source", [])), list(table.get("target", []))
    if not sources or not targets:
        shown = ", ".join(map(repr, inter.categories[:20]))
        more = f" (and {len(inter.categories) - 20:,} more)" if len(inter.categories) > 20 else ""
        raise ArgumentError(
            "target" if sources else "source",
            f"{spec} is a table of interactions: choose its domains with --source CATEGORY "
            f"--target CATEGORY; its categories are {shown}{more}",
        )
    return select_domains(
        inter,
        [cast_category(c, inter) for c in sources],
        [cast_category(c, inter) for c in targets],
        name=path.name,
    )


def resolved_data_dir(spec: str, data_dir: str | Path | None) -> str | None:
    """Return the data folder a dataset spec reads, absolute (for ``run.json``).

    Specs that read no data folder (``synthetic``, a path) keep ``data_dir``
    as given.

    Raises
    ------
    ValueError, FileNotFoundError
        From :func:`xcat.data.datasets.data_dir` when a named dataset's data
        folder cannot be found.
    """
    from xcat.data import datasets

    if not datasets.reads_data_dir(spec):
        return None if data_dir is None else str(data_dir)
    return str(datasets.data_dir(data_dir).resolve())


def _frames_digest(frames: Sequence[Any]) -> str:
    """SHA-256 (hex, first 16 digits) of tables as multisets of rows, columns by name.

    Row order does not count (a split may list its rows in any order); the
    values do, and the column names.
    """
    import hashlib

    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    for frame in frames:
        if frame is None:
            h.update(b"none;")
            continue
        frame = frame[sorted(map(str, frame.columns))] if len(frame.columns) else frame
        h.update(f"{list(frame.columns)!r}:{len(frame)};".encode())
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
        h.update(np.sort(rows).tobytes())
    return h.hexdigest()[:16]


def data_fingerprint(data: CrossDomainData) -> str:
    """Return a fingerprint of a dataset: its source and target interactions.

    Parameters
    ----------
    data : CrossDomainData

    Returns
    -------
    str
        16 hex digits of a SHA-256 of both interaction tables, each as a
        multiset of rows (row order does not count; values and column
        names do). Item and user feature tables are not included.
    """
    return _frames_digest([data.source.data, data.target.data])


def split_identity(
    data: CrossDomainData, protocol: Any, config: ExperimentConfig
) -> dict[str, Any]:
    """Return the identity of a run's split, recorded with each model trained on it.

    Two splits with the same identity hold the same training, validation
    and test interactions; ``xcat evaluate`` refuses to score a model whose
    identity differs from its run's (its test users could be ones it was
    trained on).

    Parameters
    ----------
    data : CrossDomainData
        The data split (after ``sample_users``).
    protocol : xcat.transfer.protocol.TransferProtocol
        The split of ``data`` by ``config``.
    config : ExperimentConfig
        Its ``protocol``, the protocol's parameters and ``seed``.

    Returns
    -------
    dict
        JSON-serialisable: ``data`` (:func:`data_fingerprint`),
        ``protocol`` (``"cold-start"`` or ``"published"``), ``params`` (the
        protocol's parameters: ``test_fraction``, ``valid_fraction``,
        ``order`` for cold-start, ``valid_fraction`` for published),
        ``seed`` (int) and ``split`` (16 hex digits of a SHA-256 of the
        source, target training and validation interactions and of the raw
        (user, item) test pairs, row order not counted).
    """
    import numpy as np
    import pandas as pd

    if config.protocol == "published":
        params: dict[str, Any] = {"valid_fraction": config.valid_fraction}
    else:
        params = {
            "test_fraction": config.test_fraction,
            "valid_fraction": config.valid_fraction,
            "order": config.order,
        }
    tdata, test = protocol.data, protocol.test_all
    truth = test.truth.tocsr()
    rows = np.repeat(np.asarray(test.users), np.diff(truth.indptr))
    # raw ids: the identity does not depend on how a vocabulary numbers them
    pairs = pd.DataFrame(
        {"user": tdata.vocab.users.decode(rows), "item": tdata.vocab.items.decode(truth.indices)}
    )
    valid = tdata.target_valid.data if tdata.target_valid is not None else None
    return {
        "data": data_fingerprint(data),
        "protocol": config.protocol,
        "params": params,
        "seed": int(config.seed),
        "split": _frames_digest([tdata.source.data, tdata.target_train.data, valid, pairs]),
    }


def check_split(model_dir: str | Path, identity: Mapping[str, Any]) -> str | None:
    """Refuse a saved model trained on another split than ``identity``.

    Parameters
    ----------
    model_dir : str or pathlib.Path
        A saved model (:func:`xcat.models.save`).
    identity : mapping
        The split it is about to be scored on (:func:`split_identity`).

    Returns
    -------
    str or None
        None when the model records ``identity``; a warning when it records
        no split (saved by an xcat before models recorded it), so it cannot
        be checked.

    Raises
    ------
    ValueError
        If the model records another split; the message names the model
        folder, what differs and both identities.
    FileNotFoundError, ValueError
        From :func:`xcat.models.io.read_metadata` when ``model_dir`` is not
        a saved model.
    """
    from xcat.models.io import read_metadata

    model_dir = Path(model_dir)
    extra = read_metadata(model_dir).get("extra")
    recorded = extra.get(SPLIT_KEY) if isinstance(extra, dict) else None
    if recorded is None:
        return (
            f"{model_dir} does not record the split it was trained on (saved by an older xcat); "
            "it is scored on this run's split unchecked: if it was trained on another split, "
            "its metrics count users it was trained on"
        )
    expected = dict(identity)
    if recorded == expected:
        return None
    if isinstance(recorded, dict):
        keys = sorted(set(recorded) | set(expected))
        differ = [k for k in keys if recorded.get(k) != expected.get(k)]
    else:
        differ = ["all"]
    raise ValueError(
        f"{model_dir} was trained on another split than this run's (different {', '.join(differ)})"
        ", so its test users may be users it was trained on; it is not scored. The model's "
        f"split: {json.dumps(recorded, sort_keys=True)}; this run's split: "
        f"{json.dumps(expected, sort_keys=True)}. Evaluate it in the run it was trained in, or "
        f"move it out of {model_dir.parent}"
    )


class Run:
    """A run directory: its ``run.json`` record and its models.

    Create one with :meth:`create` (a new directory; nothing is written
    until :meth:`save`) or reopen one with :meth:`open`.

    Parameters
    ----------
    path : str or pathlib.Path
        The run directory.
    record : dict
        The content of ``run.json``: ``data`` (the dataset spec),
        ``data_dir`` (absolute, or None), ``sample_users`` (int or None) and
        ``experiment`` (the fields of the ExperimentConfig).

    Attributes
    ----------
    path : pathlib.Path
    record : dict
    """

    def __init__(self, path: str | Path, record: dict[str, Any]) -> None:
        self.path = Path(path)
        self.record = record

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, data={self.record.get('data')!r})"

    @classmethod
    def create(
        cls,
        path: str | Path,
        data: str = "synthetic",
        *,
        data_dir: str | Path | None = None,
        sample_users: int | None = None,
        table: Mapping[str, Any] | None = None,
        config: ExperimentConfig | Mapping[str, Any] | None = None,
    ) -> Run:
        """Describe a new run; the directory must not hold a run or models yet.

        Parameters
        ----------
        path : str or pathlib.Path
            The run directory (created by :meth:`save`).
        data : str, default "synthetic"
            Dataset spec (see :func:`load_data`).
        data_dir : str or pathlib.Path, optional
            Data directory of the named datasets; recorded absolute.
        sample_users : int, optional
            See :func:`load_data`.
        table : mapping, optional
            See :func:`load_data`.
        config : ExperimentConfig or mapping, optional
            See :func:`experiment_config`.

        Raises
        ------
        ValueError
            From the configuration, or when the data folder is missing.
        ArgumentError
            (``argument="out"``) See :func:`check_new_run_dir`.
        """
        record = cls.record_for(
            data, data_dir, sample_users, experiment_config(config), table=table
        )
        check_new_run_dir(path)
        return cls(path, record)

    @staticmethod
    def record_for(
        data: str,
        data_dir: str | Path | None,
        sample_users: int | None,
        config: ExperimentConfig,
        *,
        table: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the ``run.json`` record of a run on ``data`` with ``config``.

        A ``data`` that is a path is recorded absolute (the run reloads it
        from any working directory); ``table`` (one's own file's domains and
        columns) is recorded when given.

        Raises
        ------
        ValueError, FileNotFoundError
            See :func:`resolved_data_dir`.
        """
        path = _spec_path(data)
        record = {
            "data": data if path is None else str(path.resolve()),
            "data_dir": resolved_data_dir(data, data_dir),
            "sample_users": sample_users,
            "experiment": dataclasses.asdict(config),
        }
        if table is not None:
            record["table"] = json.loads(json.dumps(dict(table)))
        return record

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """Reopen a run directory.

        Raises
        ------
        ArgumentError
            (``argument="run"``) If it has no ``run.json``.
        """
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise ArgumentError(
                "run", f"{path} has no {RUN_FILE}; create it with `xcat pretrain --out {path}`"
            )
        return cls(path, json.loads((path / RUN_FILE).read_text()))

    def save(self) -> Path:
        """Write ``run.json`` (creating the directory); return its path."""
        self.path.mkdir(parents=True, exist_ok=True)
        out = self.path / RUN_FILE
        out.write_text(json.dumps(self.record, indent=2) + "\n")
        return out

    @property
    def config(self) -> ExperimentConfig:
        """The run's :class:`~xcat.workflow.experiment.ExperimentConfig`."""
        from xcat.workflow.experiment import ExperimentConfig

        return ExperimentConfig(**self.record["experiment"])

    def load_data(self) -> CrossDomainData:
        """Reload the run's data (same spec, data folder, seed and sampling)."""
        return load_data(
            self.record["data"],
            self.record.get("data_dir"),
            seed=self.config.seed,
            sample_users=self.record.get("sample_users"),
            table=self.record.get("table"),
        )

    def load_split(self) -> tuple[CrossDomainData, Any]:
        """Rebuild the run's data and its split exactly (same data, same seed).

        Returns
        -------
        (CrossDomainData, xcat.transfer.protocol.TransferProtocol)
        """
        data = self.load_data()
        return data, self.config.split(data)

    @property
    def models_dir(self) -> Path:
        """``RUN/models``."""
        return self.path / MODELS_DIR

    def model_path(self, name: str) -> Path:
        """``RUN/models/<name>``."""
        return self.models_dir / name

    def recommender_path(self, name: str) -> Path:
        """``RUN/recommenders/<name>``: the saved recommender of the model ``name``."""
        return self.path / RECOMMENDERS_DIR / name

    def model_names(self) -> list[str]:
        """Names of the run's models but ``pretrained``, sorted.

        Hidden entries (names starting with ``.``) are not models: the
        temporary or backup sibling of an interrupted save
        (:func:`xcat.models.save`), a lock file (:mod:`xcat.workflow.locks`),
        ``.ipynb_checkpoints``...

        Raises
        ------
        FileNotFoundError
            If the run has no ``models`` folder.
        """
        return sorted(
            p.name
            for p in self.models_dir.iterdir()
            if p.name != PRETRAINED and not p.name.startswith(".")
        )

    def check_model(self, name: str) -> None:
        """Raise unless the run has a model ``name`` (:meth:`model_names`).

        Raises
        ------
        ArgumentError
            (``argument="strategy"``) If it has not; the message lists those it has.
        """
        available = self.model_names()
        if name not in available:
            raise ArgumentError(
                "strategy", f"{name!r} is not in {self.models_dir}; available: {available}"
            )

    def load_model(self, name: str) -> Any:
        """Load ``RUN/models/<name>`` (a TwoTower, or a MappedModel for ``mapping``)."""
        from xcat.models import load

        return load(self.model_path(name))

    def save_model(self, model: Any, name: str, extra: dict[str, Any] | None = None) -> Path:
        """Save a model as ``RUN/models/<name>`` with ``extra`` metadata; return the path."""
        from xcat.models import save

        out = self.model_path(name)
        save(model, out, extra=extra)
        return out

    def recommender(self, name: str, data: Any = None) -> Recommender:
        """Build a :class:`~xcat.recommend.Recommender` for the model ``name`` on the run's history.

        Parameters
        ----------
        name : str
            A model of the run (:meth:`model_names`).
        data : xcat.transfer.TransferData, optional
            The split's training data (``load_split()[1].data``); default:
            the run's split, rebuilt.

        Raises
        ------
        ArgumentError
            (``argument="strategy"``) If the run has no such model.
        """
        from xcat.workflow.experiment import build_recommender

        self.check_model(name)
        if data is None:
            data = self.load_split()[1].data
        return build_recommender(self.load_model(name), data)
