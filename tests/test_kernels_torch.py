"""xcat.topn and xcat.cosine_similarity on PyTorch tensors.

CPU tensors are read as NumPy arrays: detached when they require grad, and
bfloat16 / float16 upcast to float32 (exact), so the results are those of
the upcast values, checked against a float64 NumPy reference. Tensors the
CPU kernel cannot read without a hidden device copy raise a ValueError
naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import xcat
from test_kernels import assert_close_topn, reference_scores

torch = pytest.importorskip("torch")


def embeddings(rows, d=16, seed=0):
    return torch.randn(rows, d, generator=torch.Generator().manual_seed(seed))


def as_float64(t):
    """The tensor's exact values, in float64 (every float16/bfloat16 is a float32, too)."""
    return t.detach().to(torch.float64).numpy()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_topn_on_low_precision_and_grad_tensors(dtype, requires_grad, metric):
    users = embeddings(7, seed=1).to(dtype).requires_grad_(requires_grad)
    items = embeddings(300, seed=2).to(dtype).requires_grad_(requires_grad)
    got = xcat.topn(users, items, 10, metric=metric)
    ref = reference_scores(as_float64(users), as_float64(items), metric)
    assert_close_topn(got, ref, 10, atol=2e-6 if metric == "cosine" else 2e-5)
    # the same, bit for bit, as the float32 NumPy arrays of the same values
    same = xcat.topn(as_float64(users).astype(np.float32), as_float64(items), 10, metric=metric)
    np.testing.assert_array_equal(got.indices, same.indices)
    np.testing.assert_array_equal(got.scores, same.scores)
    assert users.requires_grad == requires_grad and users.grad is None


def test_one_query_tensor_and_index_tensors():
    users, items = embeddings(1, seed=3)[0].bfloat16(), embeddings(50, seed=4)
    candidates = torch.arange(0, 50, 2)
    exclude = (torch.tensor([0, 3]), torch.tensor([0, 2, 4]))
    got = xcat.topn(users, items, 5, candidates=candidates, exclude=exclude)
    ref = reference_scores(as_float64(users)[None], as_float64(items), "cosine")
    ref[:, 1::2] = -np.inf
    ref[:, [0, 2, 4]] = -np.inf
    assert got.indices.shape == (5,)
    assert_close_topn((got.indices[None], got.scores[None]), ref, 5)


def test_cosine_similarity_on_bfloat16_parameters():
    a = torch.nn.Parameter(embeddings(4, seed=5).bfloat16())
    b = embeddings(9, seed=6)
    got = xcat.cosine_similarity(a, b)
    np.testing.assert_allclose(
        got, reference_scores(as_float64(a), as_float64(b), "cosine"), atol=2e-6, rtol=0
    )


def test_float32_cpu_tensors_are_not_copied():
    from xcat.kernels import _from_torch

    t = embeddings(5).requires_grad_(True)
    assert np.shares_memory(_from_torch(t, "users"), t.detach().numpy())


def off_cpu(t):
    # a real GPU where there is one; "meta" (no data at all) stands for it elsewhere
    return t.to("cuda" if torch.cuda.is_available() else "meta")


@pytest.mark.parametrize("argument", ["users", "items"])
@pytest.mark.parametrize(
    "make, expected",
    [
        (off_cpu, r"expected a CPU tensor, got one on (cuda|meta).*\.cpu\(\)"),
        (lambda t: t.to_sparse(), r"expected a dense tensor, got layout torch\.sparse_coo"),
        (lambda t: t.to(torch.int64), r"expected a real floating-point array, got dtype int64"),
        (lambda t: t.to(torch.complex64), r"expected a real floating-point array"),
    ],
    ids=["off-cpu", "sparse", "int64", "complex"],
)
def test_unreadable_tensors_raise_naming_the_argument(argument, make, expected):
    args = {"users": embeddings(3), "items": embeddings(20)}
    args[argument] = make(args[argument])
    with pytest.raises(ValueError, match=rf"^{argument}: {expected}"):
        xcat.topn(args["users"], args["items"], 3)


def test_off_cpu_candidates_name_the_argument():
    with pytest.raises(ValueError, match=r"^candidates: expected a CPU tensor"):
        xcat.topn(embeddings(2), embeddings(20), 3, candidates=off_cpu(torch.arange(5)))


def test_unreadable_array_likes_name_the_argument():
    with pytest.raises(ValueError, match=r"^items: cannot be read as a NumPy array"):
        xcat.topn(np.ones((2, 3), np.float32), [[1.0, 2.0, 3.0], [1.0]], 1)
