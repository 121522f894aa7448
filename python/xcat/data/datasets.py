"""One loader per dataset folder of the shared data directory.

Each loader reads a folder of the shared data directory (documented in its
``README.md``), checks the files against what the README and the source
papers say about them, and returns the source and target domains as a
:class:`~xcat.data.domains.CrossDomainData` (single-category data: an
:class:`~xcat.data.interactions.Interactions`).  Where a benchmark ships its
own train/valid/test split, the rows keep it in the ``split`` column; use
:func:`xcat.data.splits.published_split` to get it.

The data directory is the ``root`` argument, or else the environment variable
``XCAT_DATA_DIR``.

:func:`load` reads a dataset *spec*: ``synthetic``, ``NAME:SOURCE:TARGET`` with a
name of the registry :data:`DATASETS` (``amazon5``, ``cdrib``, ``disencdr``,
``douban``), or a dataset folder.  A new dataset is one loader here and one
:class:`Dataset` entry in :data:`DATASETS`.

:func:`load_dataset_folder` (what ``xcat data stats FOLDER`` reads) accepts a
dataset folder by name, a *pair folder* inside the DisenCDR or CDRIB folder
(``disencdr_amazon/cloth_sport``: that one pair, as ``disencdr:cloth:sport``
gives it), or a folder of any name holding one dataset's files.

=====================================  =========================================
folder                                 loader
=====================================  =========================================
``disencdr_amazon/``                   :func:`load_disencdr_amazon`
``bitgcf_elec_cell_negatives/``        :func:`load_bitgcf_test_negatives`
``cdrib_amazon_coldstart/``            :func:`load_cdrib_amazon_coldstart`
``amazon2014_5core_beauty_sports_toys/``  :func:`load_amazon2014_5core`
``unisrec_amazon2018_scientific/``     :func:`load_unisrec_scientific`
``gadtcdr_douban_book_music/``         :func:`load_douban_book_music`
``taobao_userbehavior_head/``          :func:`load_taobao_userbehavior_head`
=====================================  =========================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xcat.data.domains import CrossDomainData, select_domains
from xcat.data.interactions import Interactions
from xcat.data.io.taobao import read_taobao_userbehavior
from xcat.data.messages import fmt_count, fmt_examples
from xcat.data.schema import CATEGORY, ITEM, SPLIT, USER, as_list
from xcat.data.synthetic import make_cross_category

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "DATA_DIR_ENV",
    "SPEC_HELP",
    "SYNTHETIC",
    "Dataset",
    "DatasetSpecError",
    "PAIR_FOLDERS",
    "TestNegatives",
    "data_dir",
    "load_amazon2014_5core",
    "load_bitgcf_test_negatives",
    "load_cdrib_amazon_coldstart",
    "load_dataset_folder",
    "load_disencdr_amazon",
    "load_douban_book_music",
    "load_taobao_userbehavior_head",
    "load",
    "load_unisrec_scientific",
    "reads_data_dir",
]

#: Environment variable naming the shared data directory.
DATA_DIR_ENV = "XCAT_DATA_DIR"


def data_dir(root: str | Path | None = None) -> Path:
    """Return the shared data directory.

    Parameters
    ----------
    root : str or pathlib.Path, optional
        Directory holding the dataset folders.  Default: ``$XCAT_DATA_DIR``,
        else ``../shared/data`` relative to the current directory when it
        exists (the layout of a checkout next to the shared data).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If none of these is available.
    FileNotFoundError
        If the directory given does not exist.
    """
    if root is None:
        env = os.environ.get(DATA_DIR_ENV)
        sibling = Path.cwd().parent / "shared" / "data"
        if env:
            root = env
        elif sibling.is_dir():
            root = sibling
        else:
            raise ValueError(
                f"no data directory: pass root= or set the environment variable {DATA_DIR_ENV} "
                f"(looked for {sibling} too)"
            )
    p = Path(root)
    if not p.is_dir():
        raise FileNotFoundError(f"data directory {p} does not exist")
    return p


def _folder(root: str | Path | None, name: str) -> Path:
    d = data_dir(root) / name
    if not d.is_dir():
        raise FileNotFoundError(f"dataset folder {d} does not exist")
    return d


def _key(value: Hashable, domains: dict[str, str], role: str) -> str:
    """Domain key from a key (``"sport"``) or its Amazon category name."""
    v = str(value).lower()
    for key, full in domains.items():
        if v in (key, full.lower()):
            return key
    choices = ", ".join(f"{k!r} ({full})" for k, full in domains.items())
    raise ValueError(f"{role}={value!r} is not a domain of this dataset; choose from {choices}")


def _read_ints(path: Path, ncols: int) -> pd.DataFrame:
    """Headerless tab-separated integer file with exactly ``ncols`` columns."""
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    df = pd.read_csv(path, sep="\t", header=None)
    if df.shape[1] != ncols:
        raise ValueError(f"{path}: expected {ncols} tab-separated columns, found {df.shape[1]}")
    for c in df.columns:
        if not pd.api.types.is_integer_dtype(df[c]):
            bad = pd.to_numeric(df[c], errors="coerce").isna()
            raise ValueError(
                f"{path}: column {c + 1} has {fmt_count(int(bad.sum()))} non-integer values, "
                f"e.g. {fmt_examples(df.loc[bad, c].unique())}"
            )
    return df.astype(np.int64)


# --------------------------------------------------------------------------- DisenCDR

DISENCDR_DOMAINS = {
    "sport": "Sports_and_Outdoors",
    "cloth": "Clothing_Shoes_and_Jewelry",
    "phone": "Cell_Phones_and_Accessories",
    "electronic": "Electronics",
}
DISENCDR_PAIRS = (
    ("sport", "cloth"),
    ("electronic", "phone"),
    ("sport", "phone"),
    ("electronic", "cloth"),
)
#: Items (train + test_original) per folder as documented (README; the Sport/Cloth
#: numbers are CDRIB's preprocessing log).  Used to detect swapped folders.
_DISENCDR_ITEMS = {
    "sport_cloth": 32_310,
    "cloth_sport": 41_303,
    "electronic_phone": 39_463,
    "phone_electronic": 18_462,
    "sport_phone": 22_101,
    "phone_sport": 14_618,
    "electronic_cloth": 53_309,
    "cloth_electronic": 51_865,
}


def _read_disencdr_folder(d: Path, category: str) -> Interactions:
    train = _read_ints(d / "train.txt", 3)
    test_original = _read_ints(d / "test_original.txt", 3)
    test = _read_ints(d / "test.txt", 3)
    for name, df in (
        ("train.txt", train),
        ("test_original.txt", test_original),
        ("test.txt", test),
    ):
        not_one = int((df[2] != 1).sum())
        if not_one:
            raise ValueError(
                f"{d / name}: the third column is the implicit label 1, but "
                f"{fmt_count(not_one)} rows have another value"
            )
    pairs_orig = pd.MultiIndex.from_frame(test_original[[0, 1]])
    pairs_test = pd.MultiIndex.from_frame(test[[0, 1]])
    in_test = pairs_orig.isin(pairs_test)
    not_in_orig = int((~pairs_test.isin(pairs_orig)).sum())
    if not_in_orig:
        raise ValueError(
            f"{d / 'test.txt'}: {fmt_count(not_in_orig)} rows are not in test_original.txt"
        )
    train_items = set(train[1])
    cold = ~in_test
    seen = test_original.loc[cold, 1].isin(train_items)
    if seen.any():
        raise ValueError(
            f"{d}: {fmt_count(int(seen.sum()))} test_original rows left out of test.txt have an "
            "item "
            "that occurs in train.txt; the folder does not follow DisenCDR's format"
        )
    df = pd.DataFrame(
        {
            USER: np.r_[train[0].to_numpy(), test_original[0].to_numpy()],
            ITEM: np.r_[train[1].to_numpy(), test_original[1].to_numpy()],
            CATEGORY: category,
            SPLIT: np.r_[
                np.full(len(train), "train", dtype=object),
                np.where(in_test, "test", "test_cold_item").astype(object),
            ],
        }
    )
    return Interactions(df, copy=False)


def load_disencdr_amazon(
    source: str = "sport", target: str = "cloth", *, root: str | Path | None = None
) -> CrossDomainData:
    """DisenCDR's dual-target Amazon pairs (Cao et al., SIGIR 2022), with their split.

    Pairs: Sport/Cloth, Elec/Phone, Sport/Phone, Elec/Cloth (either direction).
    All users are shared; user ids are the same in both domains, item ids
    are local to each domain.  Folder ``A_B/`` holds domain A.  The item
    counts of the folders are checked against the documented ones, so a
    swapped pair of folders raises instead of loading the wrong domain.

    Rows are labelled in ``split``:

    * ``"train"``: ``train.txt``;
    * ``"test"``: ``test.txt``, the held-out interaction (one per user) whose
      item also occurs in train; DisenCDR ranks it against 999 random
      negatives (HR@10, NDCG@10);
    * ``"test_cold_item"``: the rest of ``test_original.txt``, held out but
      not evaluated by DisenCDR because the item never occurs in train.

    Parameters
    ----------
    source, target : str
        Domain keys ``"sport"``, ``"cloth"``, ``"phone"``, ``"electronic"``
        (or the Amazon category names, e.g. ``"Electronics"``).
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    CrossDomainData
        Integer ``user``/``item`` ids; ``category`` is the Amazon category
        name (e.g. ``"Sports_and_Outdoors"``).

    Raises
    ------
    ValueError
        If the pair is not in the benchmark, a file breaks the format, or a
        folder holds the other domain's data.
    """
    s = _key(source, DISENCDR_DOMAINS, "source")
    t = _key(target, DISENCDR_DOMAINS, "target")
    if (s, t) not in DISENCDR_PAIRS and (t, s) not in DISENCDR_PAIRS:
        raise ValueError(
            f"DisenCDR has no {s}/{t} pair; pairs: {', '.join('/'.join(p) for p in DISENCDR_PAIRS)}"
        )
    return _disencdr_pair(_folder(root, "disencdr_amazon"), s, t)


def _disencdr_pair(base: Path, s: str, t: str) -> CrossDomainData:
    """Read DisenCDR pair ``s`` -> ``t`` (domain keys) from the dataset folder ``base``."""
    doms = {}
    for key, other in ((s, t), (t, s)):
        folder = f"{key}_{other}"
        inter = _read_disencdr_folder(base / folder, DISENCDR_DOMAINS[key])
        n_items = inter.n_items
        partner = f"{other}_{key}"
        if n_items == _DISENCDR_ITEMS[partner] and n_items != _DISENCDR_ITEMS[folder]:
            raise ValueError(
                f"{base / folder} has {fmt_count(n_items)} items, the documented count of "
                f"{partner}/ "
                f"({DISENCDR_DOMAINS[other]}), not of {folder}/ "
                f"({fmt_count(_DISENCDR_ITEMS[folder])}, "
                f"{DISENCDR_DOMAINS[key]}): the two folders look swapped"
            )
        doms[key] = inter
    return CrossDomainData(
        source=doms[s],
        target=doms[t],
        name=f"disencdr_amazon/{s}_{t}",
        description=(
            "DisenCDR (SIGIR 2022) Amazon pair, fully overlapping users; split column: train / "
            "test (evaluated: 1 positive vs 999 random unseen training items, HR@10, NDCG@10) / "
            "test_cold_item (held out, item unseen in train, not evaluated)."
        ),
    )


@dataclass(frozen=True)
class TestNegatives:
    """Fixed test candidates: one positive and 99 negatives per user (Bi-TGCF).

    Attributes
    ----------
    users : numpy.ndarray of shape (n_users,), int64
    items : numpy.ndarray of shape (n_users,), int64
        The held-out positive item of each user.
    negatives : numpy.ndarray of shape (n_users, 99), int64
        Negative items ranked against the positive.
    domain : str
        Amazon category of the items.
    """

    __test__ = False  # not a pytest test class

    users: np.ndarray
    items: np.ndarray
    negatives: np.ndarray
    domain: str

    @property
    def positive_in_negatives(self) -> np.ndarray:
        """Boolean mask of shape (n_users,): the positive also occurs among the negatives."""
        return (self.negatives == self.items[:, None]).any(axis=1)


def load_bitgcf_test_negatives(domain: str, *, root: str | Path | None = None) -> TestNegatives:
    """Bi-TGCF's fixed 99-negative test lists for DisenCDR's Elec/Phone pair.

    ``cell_electronic_test_neg.txt`` belongs to the Phone domain
    (``disencdr_amazon/phone_electronic``), ``electronic_cell_test_neg.txt``
    to Electronics.  The positives are exactly the ``test_original.txt``
    rows of that folder (``split`` in ``{"test", "test_cold_item"}`` of
    :func:`load_disencdr_amazon`).  The negatives are kept as published:
    in 22 Phone lists and 7 Electronics lists the positive item itself is
    also among the 99 negatives (:attr:`TestNegatives.positive_in_negatives`).

    Parameters
    ----------
    domain : {"phone", "electronic"}
        Or the Amazon category name.
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    TestNegatives

    Raises
    ------
    ValueError
        If a line does not have ``(user, item)`` followed by 99 negatives.
    """
    doms = {k: DISENCDR_DOMAINS[k] for k in ("phone", "electronic")}
    key = _key(domain, doms, "domain")
    fname = "cell_electronic_test_neg.txt" if key == "phone" else "electronic_cell_test_neg.txt"
    path = _folder(root, "bitgcf_elec_cell_negatives") / fname
    users, items, negs = [], [], []
    pat = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\r\n").split("\t")
            m = pat.fullmatch(parts[0])
            if m is None or len(parts) != 100:
                raise ValueError(
                    f"{path}, line {lineno}: expected '(user, item)' and 99 negatives, "
                    f"got {len(parts) - 1} fields after {parts[0][:30]!r}"
                )
            users.append(int(m.group(1)))
            items.append(int(m.group(2)))
            negs.append([int(x) for x in parts[1:]])
    return TestNegatives(
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        negatives=np.asarray(negs, dtype=np.int64).reshape(len(users), 99),
        domain=doms[key],
    )


# --------------------------------------------------------------------------- CDRIB

CDRIB_DOMAINS = {
    "game": "Toys_and_Games",  # sic: "game" is Toys & Games, not video games
    "video": "Video_Games",
    "sport": "Sports_and_Outdoors",
    "cloth": "Clothing_Shoes_and_Jewelry",
}
CDRIB_PAIRS = (("game", "video"), ("sport", "cloth"))
#: Items in train.txt per folder as documented (README).  Used to detect swapped folders:
#: a full swap of two folders' files is otherwise self-consistent.
_CDRIB_TRAIN_ITEMS = {
    "game_video": 12_319,
    "video_game": 8_751,
    "sport_cloth": 12_655,
    "cloth_sport": 17_943,
}


def load_cdrib_amazon_coldstart(
    source: str = "video", target: str = "game", *, root: str | Path | None = None
) -> CrossDomainData:
    """CDRIB's cold-start cross-domain pairs (Cao et al., ICDE 2022), with their split.

    Pairs: Toys&Games / Video Games (keys ``game``/``video``: **game is
    Toys_and_Games**) and Sports / Clothing (``sport``/``cloth``).  Folder
    ``A_B/`` holds domain A; its ``valid.txt`` and ``test.txt`` hold the
    interactions of *cold-start users* (no training row in A, training rows
    in B).  The ``*_data_info.txt`` logs have swapped names and are not read.

    User ids below ``n_common`` are shared between the domains; ids at or
    above it are private to each domain and not aligned.  The loader infers
    ``n_common`` as one more than the largest valid/test user id of the pair
    and returns users as strings: ``"17"`` for a shared user, ``"game:25000"``
    for a private one, so equal ids mean the same person.  The file ids are
    kept in the integer column ``user_in_file``.

    The loader checks the folders against the data: valid/test users of a
    folder must have no training rows there and must have training rows in
    the other folder, their items must occur in the folder's training items,
    and a folder whose training item count is the documented count of its
    partner folder (and not its own) is reported as swapped.

    Parameters
    ----------
    source, target : str
        Domain keys (``"game"``, ``"video"``, ``"sport"``, ``"cloth"``) or
        the Amazon category names.  Default: Video Games -> Toys & Games
        (folder ``game_video``, the UniCDR ``dual-user-inter`` scenario).
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    CrossDomainData
        Rows keep the folder's ``split`` label (``train``/``valid``/``test``)
        in both domains.  For source -> target evaluation as in the paper,
        train on the source rows with ``split == "train"`` and the target
        train rows, and evaluate on the target test rows (999 random
        negatives from the target's training items; MRR, NDCG@5/10,
        HR@1/5/10).

    Raises
    ------
    ValueError
        If the pair is not in the benchmark or the cold-start checks fail.
    """
    s = _key(source, CDRIB_DOMAINS, "source")
    t = _key(target, CDRIB_DOMAINS, "target")
    if (s, t) not in CDRIB_PAIRS and (t, s) not in CDRIB_PAIRS:
        raise ValueError(
            f"CDRIB has no {s}/{t} pair; pairs: {', '.join('/'.join(p) for p in CDRIB_PAIRS)}"
        )
    return _cdrib_pair(_folder(root, "cdrib_amazon_coldstart"), s, t)


def _cdrib_pair(base: Path, s: str, t: str) -> CrossDomainData:
    """Read CDRIB pair ``s`` -> ``t`` (domain keys) from the dataset folder ``base``."""
    raw: dict[str, dict[str, pd.DataFrame]] = {}
    for key, other in ((s, t), (t, s)):
        d = base / f"{key}_{other}"
        raw[key] = {part: _read_ints(d / f"{part}.txt", 2) for part in ("train", "valid", "test")}
    held = pd.concat([raw[k][p][0] for k in raw for p in ("valid", "test")])
    if held.empty:
        raise ValueError(f"{base}: the valid/test files of {s}_{t} and {t}_{s} are empty")
    n_common = int(held.max()) + 1
    doms = {}
    for key, other in ((s, t), (t, s)):
        folder = base / f"{key}_{other}"
        name, partner = f"{key}_{other}", f"{other}_{key}"
        n_items = int(raw[key]["train"][1].nunique())
        if n_items == _CDRIB_TRAIN_ITEMS[partner] and n_items != _CDRIB_TRAIN_ITEMS[name]:
            raise ValueError(
                f"{folder / 'train.txt'} has {fmt_count(n_items)} items, the documented count of "
                f"{partner}/ ({CDRIB_DOMAINS[other]}), not of {name}/ "
                f"({fmt_count(_CDRIB_TRAIN_ITEMS[name])}, {CDRIB_DOMAINS[key]}): "
                "the folders look swapped"
            )
        train_users = set(raw[key]["train"][0])
        other_users = set(raw[other]["train"][0])
        train_items = set(raw[key]["train"][1])
        for part in ("valid", "test"):
            df = raw[key][part]
            warm = df[0].isin(train_users)
            if warm.any():
                raise ValueError(
                    f"{folder / (part + '.txt')}: {fmt_count(int(warm.sum()))} rows belong to "
                    "users "
                    f"with training rows in {key}_{other}/, but CDRIB's {part} users are "
                    "cold-start users of this domain; the folders may be swapped"
                )
            absent = ~df[0].isin(other_users)
            if absent.any():
                raise ValueError(
                    f"{folder / (part + '.txt')}: {fmt_count(int(absent.sum()))} rows belong to "
                    "users "
                    f"with no training rows in the other domain ({other}_{key}/), so they cannot "
                    "be cold-start users of a cross-domain pair"
                )
            new_items = ~df[1].isin(train_items)
            if new_items.any():
                raise ValueError(
                    f"{folder / (part + '.txt')}: {fmt_count(int(new_items.sum()))} rows have "
                    "items "
                    f"that are not in {key}_{other}/train.txt; the folders may be swapped"
                )
        parts = [raw[key][p].assign(split=p) for p in ("train", "valid", "test")]
        df = pd.concat(parts, ignore_index=True)
        ids = df[0].to_numpy()
        shared = ids < n_common
        user = np.where(shared, ids.astype(str), np.char.add(f"{key}:", ids.astype(str))).astype(
            object
        )
        doms[key] = Interactions(
            pd.DataFrame(
                {
                    USER: user,
                    ITEM: df[1].to_numpy(),
                    CATEGORY: CDRIB_DOMAINS[key],
                    SPLIT: df["split"].to_numpy(dtype=object),
                    "user_in_file": ids,
                }
            ),
            copy=False,
        )
    return CrossDomainData(
        source=doms[s],
        target=doms[t],
        name=f"cdrib_amazon_coldstart/{t}_{s}",
        description=(
            f"CDRIB (ICDE 2022) cold-start pair, n_common={n_common}; target valid/test rows are "
            "cold-start users (no target training rows). Evaluate: 1 positive vs 999 random target "
            "training items; MRR, NDCG@5/10, HR@1/5/10."
        ),
    )


# --------------------------------------------------------------------------- Amazon 2014 5-core

AMAZON5_DOMAINS = {"beauty": "Beauty", "sports": "Sports_and_Outdoors", "toys": "Toys_and_Games"}


def _read_sequences(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``user item item ...`` lines -> (user index, item index) arrays in file order.

    Lines are split on any whitespace, so CRLF line endings (Beauty) are safe.
    """
    users: list[str] = []
    items: list[str] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            tok = line.split()
            if not tok:
                continue
            if len(tok) < 2:
                raise ValueError(f"{path}, line {lineno}: user {tok[0]!r} has no items")
            if tok[0] in seen:
                raise ValueError(f"{path}, line {lineno}: user {tok[0]!r} has a second line")
            seen.add(tok[0])
            users.extend([tok[0]] * (len(tok) - 1))
            items.extend(tok[1:])
    return np.asarray(users, dtype=object), np.asarray(items, dtype=object)


def _amazon5_category(base: Path, key: str) -> Interactions:
    users, items = _read_sequences(base / f"{key}_sequential_data.txt")
    maps = json.loads((base / f"{key}_datamaps.json").read_text(encoding="utf-8"))
    id2user, id2item = maps["id2user"], maps["id2item"]
    for what, idx, table in (("user", users, id2user), ("item", items, id2item)):
        unknown = pd.unique(idx[~pd.Series(idx).isin(table.keys()).to_numpy()])
        if len(unknown):
            raise ValueError(
                f"{base / f'{key}_datamaps.json'}: {fmt_count(len(unknown))} {what} indices of the "
                f"sequence file are not in id2{what}, e.g. {fmt_examples(unknown)}"
            )
        if len(set(table.values())) != len(table):
            raise ValueError(
                f"{base / f'{key}_datamaps.json'}: id2{what} maps two indices to one raw id"
            )
    df = pd.DataFrame(
        {
            USER: pd.Series(users).map(id2user).to_numpy(dtype=object),
            ITEM: pd.Series(items).map(id2item).to_numpy(dtype=object),
            CATEGORY: AMAZON5_DOMAINS[key],
            "user_in_file": users.astype(np.int64),
            "item_in_file": items.astype(np.int64),
        }
    )
    return Interactions(df, copy=False)


def _amazon5_items(base: Path, keys: Sequence[str]) -> pd.DataFrame:
    """Joint item table of several categories.

    S3-Rec's attribute ids are numbered separately in each category, so they
    are namespaced by category key (``"sports:173"``); an item listed in two
    categories (one ASIN in Sports and Toys) gets the attributes of both.
    """
    attrs: dict[str, list[str]] = {}
    for key in keys:
        maps = json.loads((base / f"{key}_datamaps.json").read_text(encoding="utf-8"))
        raw = json.loads((base / f"{key}_item2attributes.json").read_text(encoding="utf-8"))
        id2item = maps["id2item"]
        unknown = [i for i in raw if i not in id2item]
        if unknown:
            raise ValueError(
                f"{base / f'{key}_item2attributes.json'}: {fmt_count(len(unknown))} item indices "
                "are "
                f"not in id2item, e.g. {fmt_examples(unknown)}"
            )
        for idx in sorted(id2item, key=int):
            attrs.setdefault(id2item[idx], []).extend(f"{key}:{a}" for a in raw.get(idx, []))
    table = pd.DataFrame({ITEM: list(attrs), "attributes": list(attrs.values())})
    return table.set_index(ITEM)


def load_amazon2014_5core(
    source: str | Sequence[str] = "beauty",
    target: str = "sports",
    *,
    root: str | Path | None = None,
) -> CrossDomainData:
    """Amazon 2014 5-core Beauty / Sports / Toys with raw reviewer ids and ASINs.

    The P5 / S3-Rec preprocessing of the Amazon 2014 5-core review files.
    Users are raw reviewer ids, so the users shared between categories are
    real shared customers (Beauty & Sports 1,625, Beauty & Toys 2,073,
    Sports & Toys 1,734).  Items are ASINs.  Rows are in each user's
    chronological order (there are no timestamp values), so
    :func:`~xcat.data.splits.leave_last_out` holds out by file order (its
    default ``order="auto"`` does so without timestamps); S3-Rec's protocol
    is the last item for test and the one before for validation.

    Parameters
    ----------
    source : str or sequence of str, default "beauty"
        One or several of ``"beauty"``, ``"sports"``, ``"toys"`` (or the
        category names ``"Beauty"``, ``"Sports_and_Outdoors"``,
        ``"Toys_and_Games"``).
    target : str, default "sports"
        The target category, not among the sources.
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    CrossDomainData
        String ``user``/``item`` ids; ``user_in_file`` and ``item_in_file``
        keep the P5 indices.  ``items`` tables hold ``attributes``: S3-Rec's
        anonymous category/brand attribute ids, which are numbered separately
        per category and therefore written as ``"<key>:<id>"`` (e.g.
        ``"beauty:173"``); they do not match the datamaps' attribute names.

    Raises
    ------
    ValueError
        If a category is unknown or both source and target, or the index
        files do not match the sequence files.
    """
    src = [_key(x, AMAZON5_DOMAINS, "source") for x in as_list(source)]
    tgt = _key(target, AMAZON5_DOMAINS, "target")
    if tgt in src:
        raise ValueError(f"category {tgt!r} is both source and target")
    return _amazon5_pair(_folder(root, "amazon2014_5core_beauty_sports_toys"), src, tgt)


def _amazon5_pair(base: Path, src: list[str], tgt: str) -> CrossDomainData:
    """Read 5-core categories ``src`` -> ``tgt`` (keys) from the dataset folder ``base``."""
    parts = {k: _amazon5_category(base, k) for k in dict.fromkeys([*src, tgt])}
    source_data = pd.concat([parts[k].data for k in src], ignore_index=True)
    return CrossDomainData(
        source=Interactions(source_data, items=_amazon5_items(base, src), copy=False),
        target=Interactions(parts[tgt].data, items=_amazon5_items(base, [tgt]), copy=False),
        name=f"amazon2014_5core/{'+'.join(src)}->{tgt}",
        description=(
            "Amazon 2014 5-core (P5/S3-Rec preprocessing), raw reviewer ids shared across "
            "categories; rows in chronological order per user, no timestamps; no published "
            "cross-domain split (single-domain protocol: leave-one-out)."
        ),
    )


# --------------------------------------------------------------------------- UniSRec Scientific


def load_unisrec_scientific(*, root: str | Path | None = None) -> Interactions:
    """Amazon 2018 Industrial & Scientific as preprocessed by UniSRec (KDD 2022), with item text.

    A single category, used in UniSRec as a *target* domain for transfer
    from other Amazon categories: pair it with a source domain from another
    dataset.  The RecBole ``.inter`` files hold training samples (history
    truncated to 50 items, target); the loader rebuilds each user's full
    sequence from them (59,427 interactions, as UniSRec reports; the test
    histories alone hold 59,384 because of the truncation) and checks that
    every sample agrees with it.

    Parameters
    ----------
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    Interactions
        One row per interaction in each user's chronological order, string
        ``user`` (raw reviewer id) and ``item`` (ASIN) ids, ``user_in_file``
        and ``item_in_file`` (UniSRec indices), and ``split``: the last item
        of each user is ``"test"``, the one before ``"valid"``, the rest
        ``"train"`` (leave-one-out, as in the ``.inter`` files).  ``items``
        has ``text`` (``title. category path. brand.``) and ``item_in_file``.

    Raises
    ------
    ValueError
        If a sample disagrees with the rebuilt sequences or an index is
        missing from the index files.
    """
    return _unisrec(_folder(root, "unisrec_amazon2018_scientific"))


def _unisrec(base: Path) -> Interactions:
    """Read UniSRec's Scientific files from the dataset folder ``base``."""

    def inter(part: str) -> pd.DataFrame:
        df = pd.read_csv(
            base / f"Scientific.{part}.inter", sep="\t", dtype=str, keep_default_na=False
        )
        want = ["user_id:token", "item_id_list:token_seq", "item_id:token"]
        if list(df.columns) != want:
            raise ValueError(
                f"{base / f'Scientific.{part}.inter'}: expected columns {want}, got "
                f"{list(df.columns)}"
            )
        df.columns = ["user", "history", "target"]
        df["history"] = df["history"].str.split(" ")
        return df

    train, valid, test = inter("train"), inter("valid"), inter("test")
    v = valid.set_index("user")
    te = test.set_index("user")
    if not (
        v.index.is_unique
        and te.index.is_unique
        and v.index.sort_values().equals(te.index.sort_values())
    ):
        raise ValueError(
            f"{base}: valid and test files must have one row per user, for the same users"
        )
    seqs: dict[str, list[str]] = {}
    groups = dict(iter(train.groupby("user", sort=False)))
    bad = 0
    for u in te.index:
        g = groups.get(u)
        if g is None:  # sequence of 3: no training sample
            seq = [*te.at[u, "history"], te.at[u, "target"]]
        else:
            g = g.iloc[::-1]  # file lists each user's samples newest first
            seq = [*g["history"].iloc[0], *g["target"], v.at[u, "target"], te.at[u, "target"]]
        if te.at[u, "history"] != seq[:-1][-50:] or v.at[u, "history"] != seq[:-2][-50:]:
            bad += 1
        if g is not None:
            start = len(g["history"].iloc[0])
            for k, (h, tgt) in enumerate(zip(g["history"], g["target"], strict=False)):
                if h != seq[: start + k][-50:] or seq[start + k] != tgt:
                    bad += 1
        seqs[u] = seq
    if bad:
        raise ValueError(
            f"{base}: {fmt_count(bad)} samples disagree with the rebuilt user sequences"
        )
    users = np.concatenate([np.full(len(s), u, dtype=object) for u, s in seqs.items()])
    items = np.concatenate([np.asarray(s, dtype=object) for s in seqs.values()])
    lens = np.array([len(s) for s in seqs.values()])
    split = np.concatenate(
        [
            np.r_[np.full(n - 2, "train", dtype=object), np.array(["valid", "test"], dtype=object)]
            for n in lens
        ]
    )
    u2i = pd.read_csv(
        base / "Scientific.user2index", sep="\t", header=None, dtype=str, keep_default_na=False
    )
    i2i = pd.read_csv(
        base / "Scientific.item2index", sep="\t", header=None, dtype=str, keep_default_na=False
    )
    idx2user = pd.Series(u2i[0].to_numpy(), index=u2i[1].to_numpy())
    idx2item = pd.Series(i2i[0].to_numpy(), index=i2i[1].to_numpy())
    for what, idx, table in (("user", users, idx2user), ("item", items, idx2item)):
        unknown = ~pd.Series(idx).isin(table.index)
        if unknown.any():
            raise ValueError(
                f"{base}: {fmt_count(int(unknown.sum()))} {what} indices are not in "
                f"Scientific.{what}2index"
            )
    text = pd.read_csv(
        base / "Scientific.text", sep="\t", dtype=str, keep_default_na=False, quoting=3
    )
    text.columns = [ITEM, "text"]
    item_table = pd.DataFrame(
        {ITEM: idx2item.to_numpy(), "item_in_file": idx2item.index.astype(np.int64)}
    )
    item_table = item_table.merge(text, on=ITEM, how="left").set_index(ITEM)
    df = pd.DataFrame(
        {
            USER: idx2user.reindex(users).to_numpy(dtype=object),
            ITEM: idx2item.reindex(items).to_numpy(dtype=object),
            CATEGORY: "Industrial_and_Scientific",
            SPLIT: split,
            "user_in_file": users.astype(np.int64),
            "item_in_file": items.astype(np.int64),
        }
    )
    return Interactions(df, items=item_table, copy=False)


# --------------------------------------------------------------------------- Douban

DOUBAN_DOMAINS = {"book": "book", "music": "music"}


def load_douban_book_music(
    source: str = "book", target: str = "music", *, root: str | Path | None = None
) -> CrossDomainData:
    """Douban Book and Music ratings (GA-DTCDR, IJCAI 2020).

    Users share one id space across both files (1,566 overlapping users).
    Ratings 1-5, no timestamps and no published split file: GA-DTCDR holds
    out each user's last rating in file order (``leave_last_out``, which
    uses file order without timestamps) and ranks it against 99 random
    negatives (HR@10, NDCG@10).  Not product categories, but two content
    domains.

    Parameters
    ----------
    source, target : {"book", "music"}
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    CrossDomainData
        Integer ``user``/``item`` ids, ``rating`` (int64), ``category``
        ``"book"`` or ``"music"``.
    """
    s = _key(source, DOUBAN_DOMAINS, "source")
    t = _key(target, DOUBAN_DOMAINS, "target")
    if s == t:
        raise ValueError(f"source and target are both {s!r}")
    return _douban_pair(_folder(root, "gadtcdr_douban_book_music"), s, t)


def _douban_pair(base: Path, s: str, t: str) -> CrossDomainData:
    """Read Douban ``s`` -> ``t`` (``"book"``/``"music"``) from the dataset folder ``base``."""
    doms = {}
    for key in (s, t):
        df = _read_ints(base / f"douban_{key}_ratings.dat", 3)
        doms[key] = Interactions(
            pd.DataFrame({USER: df[0], ITEM: df[1], CATEGORY: key, "rating": df[2]}), copy=False
        )
    return CrossDomainData(
        source=doms[s],
        target=doms[t],
        name=f"gadtcdr_douban/{s}->{t}",
        description="Douban book/music ratings (GA-DTCDR); shared user ids; no timestamps.",
    )


# --------------------------------------------------------------------------- Taobao


def load_taobao_userbehavior_head(
    source: int | Sequence[int],
    target: int | Sequence[int],
    *,
    root: str | Path | None = None,
) -> CrossDomainData:
    """Load the first 4,321 lines of Taobao UserBehavior, with categories chosen by id.

    A format fixture of a real category-id e-commerce log (43 users, 567
    categories, behaviours ``pv``/``cart``/``fav``/``buy`` with epoch
    timestamps), far too small for benchmarking.  For the full file use
    :func:`xcat.data.io.taobao.read_taobao_userbehavior` and
    :func:`xcat.data.domains.select_domains`.

    Parameters
    ----------
    source : int or sequence of int
        Source category id(s), e.g. ``2355072``.
    target : int or sequence of int
        Target category id(s).
    root : str or pathlib.Path, optional
        Data directory (default ``$XCAT_DATA_DIR``).

    Returns
    -------
    CrossDomainData

    Raises
    ------
    ValueError
        If a category id does not occur or the domains share no user.
    """
    inter = read_taobao_userbehavior(
        _folder(root, "taobao_userbehavior_head") / "UserBehavior_head.csv"
    )
    return select_domains(inter, source, target, name="taobao_userbehavior_head")


# --------------------------------------------------------------------------- whole folders

# What load_dataset_folder returns: a name and the data, per pair or table.
_Loaded = list[tuple[str, "CrossDomainData | Interactions"]]

#: Datasets with one folder per domain of a pair (``A_B/`` holds domain A) and
#: the names of those pair folders.
PAIR_FOLDERS: dict[str, tuple[str, ...]] = {
    "disencdr_amazon": tuple(_DISENCDR_ITEMS),
    "cdrib_amazon_coldstart": tuple(_CDRIB_TRAIN_ITEMS),
}
_PAIR_FILES: dict[str, tuple[str, ...]] = {
    "disencdr_amazon": ("train.txt", "test.txt", "test_original.txt"),
    "cdrib_amazon_coldstart": ("train.txt", "valid.txt", "test.txt"),
}
_PAIRS = {"disencdr_amazon": DISENCDR_PAIRS, "cdrib_amazon_coldstart": CDRIB_PAIRS}


def _has_files(d: Path, names: Sequence[str]) -> bool:
    return all((d / n).is_file() for n in names)


def _read_pair_folder(dataset: str, base: Path, folder: str) -> tuple[str, CrossDomainData]:
    """Read the direction that pair folder ``folder`` (``A_B``) of ``dataset`` stands for.

    The name of the returned pair is ``<dataset>/<folder>``: DisenCDR's
    ``A_B`` is A -> B (the loader's naming), CDRIB's ``A_B`` is B -> A (its
    valid/test files are A's cold-start users, so A is the target).
    """
    a, b = folder.split("_")
    if dataset == "disencdr_amazon":
        data = _disencdr_pair(base, a, b)
    else:
        data = _cdrib_pair(base, b, a)
    return data.name, data


def _pair_dataset_all(dataset: str, d: Path) -> _Loaded:
    """Every pair of a per-domain-folder dataset whose two folders are in ``d``."""
    out: _Loaded = []
    for a, b in _PAIRS[dataset]:
        here = [f for f in (f"{a}_{b}", f"{b}_{a}") if (d / f).is_dir()]
        if len(here) == 1:
            missing = f"{b}_{a}" if here[0] == f"{a}_{b}" else f"{a}_{b}"
            raise FileNotFoundError(
                f"{d / here[0]} has no partner folder {d / missing}: a pair needs both domains"
            )
        if here:
            out.append(_read_pair_folder(dataset, d, f"{a}_{b}"))
    if not out:
        raise FileNotFoundError(
            f"{d}: none of the pair folders of {dataset} ({', '.join(PAIR_FOLDERS[dataset])})"
        )
    return out


def _taobao_all(d: Path) -> _Loaded:
    return [("taobao_userbehavior_head", read_taobao_userbehavior(d / "UserBehavior_head.csv"))]


def _amazon5_all(d: Path) -> _Loaded:
    # every category the folder holds (the shared folder: all three)
    keys = [k for k in AMAZON5_DOMAINS if (d / f"{k}_sequential_data.txt").is_file()] or list(
        AMAZON5_DOMAINS
    )
    data = pd.concat([_amazon5_category(d, k).data for k in keys], ignore_index=True)
    which = "all categories" if len(keys) == len(AMAZON5_DOMAINS) else "+".join(keys)
    return [
        (
            f"amazon2014_5core ({which})",
            Interactions(data, items=_amazon5_items(d, keys), copy=False),
        )
    ]


def _douban_all(d: Path) -> _Loaded:
    return [("gadtcdr_douban", _douban_pair(d, "book", "music"))]


_FOLDERS: dict[str, Callable[[Path], _Loaded]] = {
    "disencdr_amazon": lambda d: _pair_dataset_all("disencdr_amazon", d),
    "cdrib_amazon_coldstart": lambda d: _pair_dataset_all("cdrib_amazon_coldstart", d),
    "amazon2014_5core_beauty_sports_toys": _amazon5_all,
    "unisrec_amazon2018_scientific": lambda d: [("unisrec_amazon2018_scientific", _unisrec(d))],
    "gadtcdr_douban_book_music": _douban_all,
    "taobao_userbehavior_head": _taobao_all,
}


def _looks_like(d: Path) -> str | None:
    """Return the dataset whose files a folder of another name holds (a copy, a renamed one)."""
    for dataset, folders in PAIR_FOLDERS.items():
        if any(_has_files(d / f, _PAIR_FILES[dataset]) for f in folders):
            return dataset
    if any((d / f"{k}_sequential_data.txt").is_file() for k in AMAZON5_DOMAINS):
        return "amazon2014_5core_beauty_sports_toys"
    if (d / "Scientific.train.inter").is_file():
        return "unisrec_amazon2018_scientific"
    if _has_files(d, [f"douban_{k}_ratings.dat" for k in DOUBAN_DOMAINS]):
        return "gadtcdr_douban_book_music"
    if (d / "UserBehavior_head.csv").is_file():
        return "taobao_userbehavior_head"
    return None


def load_dataset_folder(path: str | Path) -> list[tuple[str, CrossDomainData | Interactions]]:
    """Every domain pair (or table) of one dataset folder, or the pair of one pair folder.

    Accepted, in this order:

    1. a dataset folder of the shared data directory, by name (e.g.
       ``.../disencdr_amazon``): every pair or table it holds;
    2. a *pair folder* inside the DisenCDR or CDRIB folder (e.g.
       ``.../disencdr_amazon/cloth_sport``), recognised by its name and files
       with its partner folder next to it: the one pair that bears the
       folder's name, the same data as ``load("disencdr:cloth:sport")``.
       DisenCDR's ``A_B/`` gives A -> B, CDRIB's ``A_B/`` gives B -> A
       (named ``cdrib_amazon_coldstart/A_B``: its valid/test users are
       cold-start users of A, the target);
    3. a folder of another name holding the files of one of the datasets
       (a copy or a renamed folder), read as in 1.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder.

    Returns
    -------
    list of (str, CrossDomainData or Interactions)
        A name and the data for each pair (DisenCDR: 4 pairs, CDRIB: 2, a
        pair folder: 1) or the whole table (5-core: every category of the
        folder; Taobao; Scientific).  A pair's name is its
        :attr:`CrossDomainData.name`.

    Raises
    ------
    ValueError
        If the folder is none of these (``bitgcf_elec_cell_negatives`` holds
        test negatives, not interactions).
    FileNotFoundError
        If a pair folder's partner folder is missing, or a file is.
    """
    d = Path(path).resolve()
    if not d.is_dir():
        raise ValueError(f"{d} is not a folder")
    loader = _FOLDERS.get(d.name)
    if loader is not None:
        return loader(d)
    for dataset, folders in PAIR_FOLDERS.items():
        if d.name in folders and _has_files(d, _PAIR_FILES[dataset]):
            a, b = d.name.split("_")
            partner = d.parent / f"{b}_{a}"
            if not partner.is_dir():
                raise FileNotFoundError(
                    f"{d} is a pair folder of {dataset} (domain {a}) but its partner folder "
                    f"{partner} (domain {b}) is missing: a pair needs both domains"
                )
            return [_read_pair_folder(dataset, d.parent, d.name)]
    like = _looks_like(d)
    if like is not None:
        return _FOLDERS[like](d)
    pair_examples = ", ".join(f"{k}/{v[0]}" for k, v in PAIR_FOLDERS.items())
    raise ValueError(
        f"{d.name!r} is not a known dataset folder; known: {', '.join(sorted(_FOLDERS))}, "
        f"their pair folders ({pair_examples}, ...), or a folder with the files of one of "
        "them (bitgcf_elec_cell_negatives holds test negatives, not interactions)"
    )


# --------------------------------------------------------------------------- registry


class DatasetSpecError(ValueError):
    """A dataset spec (``amazon5:beauty:toys``, a path, ...) that :func:`load` cannot parse.

    Errors of the loaders themselves (an unknown domain, a broken file) are
    plain ``ValueError``; the CLI reports this one as a bad ``--data`` value.
    """


@dataclass(frozen=True)
class Dataset:
    """A cross-domain dataset of the shared data directory, loaded by ``NAME:SOURCE:TARGET``.

    Attributes
    ----------
    name : str
        The spec prefix, e.g. ``"cdrib"``.
    loader : callable
        ``loader(source, target, *, root=None) -> CrossDomainData``.
    description : str
        The dataset and its domain keys, for people.
    domains : dict of str to str
        Domain keys and the category names they stand for.
    multi_source : bool, default False
        Whether ``SOURCE`` may join several domains with ``+`` (``beauty+sports``).
    """

    name: str
    loader: Callable[..., CrossDomainData]
    description: str
    domains: dict[str, str]
    multi_source: bool = False


#: The spec of the built-in synthetic generator (:func:`xcat.data.synthetic.make_cross_category`).
SYNTHETIC = "synthetic"

#: The datasets ``load("NAME:SOURCE:TARGET")`` knows, by name.
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "amazon5",
            load_amazon2014_5core,
            "Amazon 2014 5-core; beauty, sports, toys (several sources joined with +)",
            AMAZON5_DOMAINS,
            multi_source=True,
        ),
        Dataset(
            "cdrib",
            load_cdrib_amazon_coldstart,
            "CDRIB cold-start pairs; video/game, sport/cloth",
            CDRIB_DOMAINS,
        ),
        Dataset(
            "disencdr",
            load_disencdr_amazon,
            "DisenCDR pairs; sport/cloth, electronic/phone, sport/phone, electronic/cloth",
            DISENCDR_DOMAINS,
        ),
        Dataset("douban", load_douban_book_music, "Douban; book/music", DOUBAN_DOMAINS),
    )
}

#: Every spec name ``load`` knows besides paths: the synthetic default and the datasets.
DATASET_NAMES: tuple[str, ...] = (SYNTHETIC, *DATASETS)

#: One line describing the specs, for help texts and error messages.
SPEC_HELP = " | ".join([SYNTHETIC, *(f"{name}:SRC:TGT" for name in DATASETS), "PATH"])


def reads_data_dir(spec: str) -> bool:
    """Whether a spec names a dataset of the shared data directory (``NAME:SOURCE:TARGET``)."""
    return spec.partition(":")[0] in DATASETS


def load(spec: str, data_dir: str | Path | None = None, *, seed: int = 0) -> CrossDomainData:
    """Load the source and target domains a dataset spec names.

    Parameters
    ----------
    spec : str
        ``"synthetic"`` (the built-in generator), ``"NAME:SOURCE:TARGET"``
        with a name of :data:`DATASETS` (e.g. ``"cdrib:video:game"``,
        ``"amazon5:beauty+sports:toys"``), or the path of a folder
        :func:`load_dataset_folder` reads: a dataset folder (its first
        source/target pair) or a pair folder (e.g.
        ``.../disencdr_amazon/cloth_sport``: that pair).
    data_dir : str or pathlib.Path, optional
        Data directory of the named datasets (see :func:`data_dir`).
    seed : int, default 0
        Seed of the synthetic generator; the other specs ignore it.

    Returns
    -------
    CrossDomainData

    Raises
    ------
    DatasetSpecError
        If ``NAME:SOURCE:TARGET`` lacks a part, the spec is neither a known
        dataset nor an existing path (the message lists the specs), or the
        folder holds no source/target pair.
    ValueError
        If the loader rejects the domains or the files, or the path is not a
        known dataset folder.
    FileNotFoundError
        If the data directory or a dataset folder does not exist.
    """
    if spec == SYNTHETIC:
        return make_cross_category(seed=seed)
    name, _, rest = spec.partition(":")
    if name in DATASETS:
        dataset = DATASETS[name]
        parts = rest.split(":")
        if len(parts) != 2 or not all(parts):
            raise DatasetSpecError(f"expected {name}:SOURCE:TARGET, got {spec!r}")
        source = parts[0].split("+") if dataset.multi_source and "+" in parts[0] else parts[0]
        return dataset.loader(source, parts[1], root=data_dir)
    path = Path(spec)
    if not path.exists():
        raise DatasetSpecError(f"{spec!r} is neither a known dataset nor a path ({SPEC_HELP})")
    found = [d for _, d in load_dataset_folder(path) if isinstance(d, CrossDomainData)]
    if not found:
        raise DatasetSpecError(f"{spec}: no source/target pair found there")
    return found[0]
