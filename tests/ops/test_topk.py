"""Row top-k (GS(k)) against its pure-torch reference."""

from __future__ import annotations

import pytest
import torch

from gsr_eda import _core
from gsr_eda.ops import row_topk
from gsr_eda.ops.dtypes import index_dtype_for
from gsr_eda.ops.reference import row_topk_reference


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (37, 16, 4), (500, 128, 8), (64, 300, 17)])
def test_matches_reference(dtype: torch.dtype, n: int, d: int, k: int) -> None:
    P = torch.randn(n, d, dtype=dtype, generator=torch.Generator().manual_seed(n + d))
    values, indices = row_topk(P, k)
    ref_values, ref_indices = row_topk_reference(P, k)
    assert indices.dtype == index_dtype_for(d)
    assert torch.equal(values, ref_values)
    assert torch.equal(indices.long(), ref_indices)


def test_ties_go_to_the_lower_column_and_negatives_are_kept() -> None:
    # Few distinct values: most comparisons are ties.
    P = torch.randint(-3, 2, (400, 32), generator=torch.Generator().manual_seed(1)).double()
    values, indices = row_topk(P, 6)
    ref_values, ref_indices = row_topk_reference(P, 6)
    assert torch.equal(indices.long(), ref_indices)
    assert torch.equal(values, ref_values)
    all_negative = -torch.arange(1.0, 9.0).repeat(3, 1)
    values, indices = row_topk(all_negative, 3)
    assert torch.equal(values[0], torch.tensor([-1.0, -2.0, -3.0]))
    assert indices[0].tolist() == [0, 1, 2]


@pytest.mark.parametrize("levels", [2, 5, 100, 2000])
@pytest.mark.parametrize("k", [5, 8, 16])
def test_float32_ties_at_every_survivor_count(levels: int, k: int) -> None:
    # float32 rows take the vectorised rank count; few levels make flat rows (more than 64
    # entries clear the bound), many levels the usual ~20-40 survivors, all with some ties.
    P = torch.randint(0, levels, (300, 128), generator=torch.Generator().manual_seed(levels + k))
    P = P.float()
    values, indices = row_topk(P, k)
    ref_values, ref_indices = row_topk_reference(P, k)
    assert torch.equal(indices.long(), ref_indices)
    assert torch.equal(values, ref_values)


@pytest.mark.parametrize("k,d", [(1, 8), (7, 64), (8, 16), (9, 24), (16, 32), (16, 136)])
def test_float32_blocks_of_eight_rows(k: int, d: int) -> None:
    # float32 rows go through select_topk 8 at a time (an exact k-th largest entry per SIMD
    # lane) when k <= 16 and d is a multiple of 8; 43 rows leave a tail of 3 for the row path.
    # Special rows inside the blocks: constant, two levels, -inf entries, tiny differences.
    g = torch.Generator().manual_seed(k * d)
    P = torch.randn(43, d, generator=g)
    P[2] = 1.5
    P[9, ::2], P[9, 1::2] = 0.25, -0.25
    P[17, : d // 2] = float("-inf")
    P[20] = 1.0 + torch.arange(d) * 1e-7
    P[41] = 0.0
    values, indices = row_topk(P, k)
    ref_values, ref_indices = row_topk_reference(P, k)
    assert torch.equal(indices.long(), ref_indices)
    assert torch.equal(values, ref_values)


@pytest.mark.parametrize("isa", ["native", "portable"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k,d", [(1, 5), (4, 16), (8, 128), (16, 136), (17, 300)])
def test_nan_ranks_above_every_number(
    isa: str, dtype: torch.dtype, k: int, d: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in torch.sort's descending order: a NaN is kept ahead of every number (it shows in
    V instead of being dropped) and NaNs among themselves go by column. The special rows sit
    inside blocks of eight (the lane path) and in the tail."""
    if isa == "portable":
        if not hasattr(_core, "cpu_baseline"):
            pytest.skip("single CPU variant build")
        monkeypatch.setattr(_core, "cpu", _core.cpu_baseline)
    P = torch.randn(43, d, dtype=dtype, generator=torch.Generator().manual_seed(k + d))
    nan = float("nan")
    P[0, d // 2] = nan  # one NaN among numbers
    P[3] = nan  # all NaN
    P[5, 0], P[5, d - 1] = float("inf"), nan
    P[10, ::2] = nan  # more NaNs than k
    P[17, d - 1] = nan  # in the last column
    P[41, 1], P[41, d // 3] = nan, nan  # the tail rows
    values, indices = row_topk(P, k)
    ref_values, ref_indices = row_topk_reference(P, k)
    assert torch.equal(indices.long(), ref_indices)
    torch.testing.assert_close(values, ref_values, rtol=0, atol=0, equal_nan=True)
    assert bool(values[0, 0].isnan()) and int(indices[0, 0]) == d // 2


def test_deterministic_and_non_contiguous_input() -> None:
    P = torch.randn(200, 64).t()  # non-contiguous view
    first = row_topk(P, 5)
    second = row_topk(P, 5)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert torch.equal(first[1].long(), row_topk_reference(P, 5)[1])


def test_index_dtypes() -> None:
    assert index_dtype_for(256) == torch.uint8
    assert index_dtype_for(257) == torch.int16
    assert index_dtype_for(40000) == torch.int32
    P = torch.randn(3, 40000)
    values, indices = row_topk(P, 2)
    assert indices.dtype == torch.int32
    assert torch.equal(indices.long(), row_topk_reference(P, 2)[1])


@pytest.mark.parametrize("bad_k", [0, 17])
def test_k_out_of_range(bad_k: int) -> None:
    with pytest.raises(ValueError, match="k must be in"):
        row_topk(torch.randn(4, 16), bad_k)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="2-D"):
        row_topk(torch.randn(16), 2)
    with pytest.raises(TypeError, match="dtype"):
        row_topk(torch.ones(4, 16, dtype=torch.int64), 2)
    with pytest.raises(TypeError):
        row_topk([[1.0, 2.0]], 1)  # type: ignore[arg-type]
