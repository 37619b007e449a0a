"""CSRAdjacency: normalisation, transpose, nnz-balanced partitions, conversions, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda.ops import CSRAdjacency
from gsr_eda.ops.adjacency import balanced_partition


def random_csr(n: int, seed: int, max_degree: int = 6, hub_degree: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Random CSR with empty rows (degree 0) and one hub row."""
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, max_degree, n)
    degree[n // 3] = 0
    degree[n // 2] = hub_degree
    indptr = np.concatenate(([0], np.cumsum(degree)))
    return indptr, rng.integers(0, n, indptr[-1])


def dense_of(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    dense = np.zeros((n, n))
    for row in range(n):
        for col in indices[indptr[row] : indptr[row + 1]]:
            dense[row, col] += 1.0
    return dense


@pytest.mark.parametrize("normalization", ["mean", "sym", "none"])
@pytest.mark.parametrize("self_loops", [False, True])
def test_weights_and_transpose(normalization: str, self_loops: bool) -> None:
    n = 80
    indptr, indices = random_csr(n, seed=3)
    adj = CSRAdjacency.from_csr(
        indptr, indices, n, normalization=normalization, add_self_loops=self_loops, dtype=torch.float64
    )
    binary = dense_of(indptr, indices, n)
    if self_loops:
        binary[np.diag_indices(n)] = np.maximum(np.diag(binary), 1.0)
    out_deg, in_deg = binary.sum(1), binary.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = {
            "mean": binary / out_deg[:, None],
            "sym": binary / np.sqrt(out_deg[:, None] * in_deg[None, :]),
            "none": binary,
        }[normalization]
    expected = np.nan_to_num(expected)
    got = adj.to_torch_sparse().to_dense().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    t_indptr, t_indices, t_weight = adj.csr(transpose=True)
    transpose = torch.sparse_csr_tensor(t_indptr, t_indices.long(), t_weight, size=(n, n))
    np.testing.assert_allclose(transpose.to_dense().numpy(), expected.T, rtol=1e-12)
    assert adj.nnz == int(binary.sum())
    source, target = adj.edge_index()
    rebuilt = np.zeros((n, n))
    np.add.at(rebuilt, (target.numpy(), source.numpy()), adj.edge_weight().numpy())
    np.testing.assert_allclose(rebuilt, expected, rtol=1e-12)


@pytest.mark.parametrize("normalization", ["mean", "sym", "none"])
def test_symmetric_pattern_gives_the_same_transpose_without_sorting(normalization: str) -> None:
    n = 60
    indptr, indices = random_csr(n, seed=5)
    dense = dense_of(indptr, indices, n)
    rows, cols = np.nonzero(np.maximum(dense, dense.T) * (1 - np.eye(n)))  # symmetric, sorted rows
    sym_indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))
    plain, fast = (
        CSRAdjacency.from_csr(sym_indptr, cols, n, normalization=normalization, dtype=torch.float64, symmetric=flag)
        for flag in (False, True)
    )
    for transpose in (False, True):
        for a, b in zip(plain.csr(transpose=transpose), fast.csr(transpose=transpose)):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("split_rows", [False, True])
def test_partition_covers_every_nonzero_once_and_isolates_hubs(split_rows: bool) -> None:
    indptr, _ = random_csr(5000, seed=1, max_degree=4, hub_degree=9000)
    parts = balanced_partition(indptr, part_cost=512, split_rows=split_rows)
    covered = np.zeros(indptr[-1], dtype=np.int64)
    rows_seen = np.zeros(len(indptr) - 1, dtype=np.int64)
    for row_begin, row_end, nnz_begin, nnz_end in parts:
        assert row_begin < row_end
        covered[nnz_begin:nnz_end] += 1
        if row_end - row_begin > 1 or (nnz_begin, nnz_end) == (indptr[row_begin], indptr[row_end]):
            rows_seen[row_begin:row_end] += 1
        cost = (nnz_end - nnz_begin) + (row_end - row_begin)
        # Balanced: only a single heavy row may exceed a part (and only without splitting).
        assert cost <= 2 * 512 or (row_end - row_begin == 1 and not split_rows)
    assert np.all(covered == 1)
    hub = (len(indptr) - 1) // 2
    assert rows_seen[hub] == (0 if split_rows else 1)
    assert np.all(np.delete(rows_seen, hub) == 1)


def test_empty_graph_and_device_roundtrip() -> None:
    adj = CSRAdjacency.from_csr([0], [], 0)
    assert adj.num_nodes == 0 and adj.nnz == 0
    adj = CSRAdjacency.from_csr([0, 1, 1], [1], 2)
    assert adj.to("cpu") is adj
    assert adj.device == torch.device("cpu")
    assert "num_nodes=2" in repr(adj)


@pytest.mark.parametrize(
    "indptr,indices,n,message",
    [
        ([0, 1], [0], 2, "num_nodes \\+ 1"),
        ([1, 1, 1], [0], 2, "start at 0"),
        ([0, 2, 1], [0], 2, "non-decreasing"),
        ([0, 1, 2], [0, 5], 2, "must lie in"),
        ([0, 1, 2], [0, -1], 2, "must lie in"),
    ],
)
def test_malformed_structure(indptr: list, indices: list, n: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CSRAdjacency.from_csr(indptr, indices, n)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="normalization"):
        CSRAdjacency.from_csr([0, 0], [], 1, normalization="max")
    with pytest.raises(TypeError, match="dtype"):
        CSRAdjacency.from_csr([0, 0], [], 1, dtype=torch.int32)
    with pytest.raises(TypeError, match="integers"):
        CSRAdjacency.from_csr([0, 1], [0.5], 1)
