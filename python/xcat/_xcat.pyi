"""Type stubs of the private native module ``xcat._xcat`` (built from rust/python)."""

import numpy as np
import numpy.typing as npt

__all__ = ["topn", "similarity", "default_threads", "isa", "__version__"]

__version__: str

def topn(
    users: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    n: int,
    metric_name: str,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int64] | None = None,
    candidates: npt.NDArray[np.int64] | None = None,
    num_threads: int | None = None,
    block_items: int | None = None,
    isa_name: str | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def similarity(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    metric_name: str,
    num_threads: int | None = None,
    isa_name: str | None = None,
) -> npt.NDArray[np.float32]: ...
def default_threads() -> int: ...
def isa() -> str: ...
