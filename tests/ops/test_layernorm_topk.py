"""Fused LayerNorm + GS(k) kernels against torch's layer_norm + top-k with autograd."""

from __future__ import annotations

import pytest
import torch

from gsr_eda.ops import kernels
from gsr_eda.ops.dtypes import index_dtype_for
from gsr_eda.ops.reference import layernorm_topk_reference


def fused(y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, k: int, indices: torch.Tensor | None = None):
    n, d = y.shape
    values = y.new_empty(n, k)
    given = indices is not None
    if indices is None:
        indices = torch.empty(n, k, dtype=index_dtype_for(d))
    mean, rstd = y.new_empty(n), y.new_empty(n)
    kernels.layernorm_topk_into(y, gamma, beta, 1e-5, values, indices, mean, rstd, given)
    return values, indices, mean, rstd


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,d,k", [(5, 4, 1), (300, 64, 8), (64, 40, 5), (50, 20, 3), (40, 300, 5)])
def test_forward_and_backward_match_reference(dtype: torch.dtype, n: int, d: int, k: int) -> None:
    g = torch.Generator().manual_seed(d)
    y = (3 * torch.randn(n, d, generator=g, dtype=dtype) + 1).requires_grad_()
    gamma = (1 + 0.3 * torch.randn(d, generator=g, dtype=dtype)).requires_grad_()
    beta = (0.3 * torch.randn(d, generator=g, dtype=dtype)).requires_grad_()
    ref_values, ref_indices = layernorm_topk_reference(y, gamma, beta, 1e-5, k)
    values, indices, mean, rstd = fused(y.detach(), gamma.detach(), beta.detach(), k)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    assert torch.equal(indices.long(), ref_indices)
    torch.testing.assert_close(values, ref_values.detach(), **tol)
    plain = y.detach()
    torch.testing.assert_close(mean, plain.mean(dim=1), **tol)
    torch.testing.assert_close(rstd, torch.rsqrt(plain.var(dim=1, unbiased=False) + 1e-5), **tol)

    grad_values = torch.randn(n, k, generator=g, dtype=dtype)
    ref_values.backward(grad_values)
    start = torch.randn(n, d, generator=g, dtype=dtype)
    grad_y = start.clone()
    grad_gamma, grad_beta = y.new_empty(d), y.new_empty(d)
    kernels.layernorm_topk_backward_into(
        y.detach(), gamma.detach(), mean, rstd, indices, grad_values, grad_y, grad_gamma, grad_beta, accumulate=True
    )
    torch.testing.assert_close(grad_y - start, y.grad, **tol)
    torch.testing.assert_close(grad_gamma, gamma.grad, **tol)
    torch.testing.assert_close(grad_beta, beta.grad, **tol)
    grad_y_sum = y.new_empty(d)
    kernels.layernorm_topk_backward_into(
        y.detach(),
        gamma.detach(),
        mean,
        rstd,
        indices,
        grad_values,
        grad_y,
        grad_gamma,
        grad_beta,
        grad_y_sum=grad_y_sum,
    )
    torch.testing.assert_close(grad_y, y.grad, **tol)
    torch.testing.assert_close(grad_y_sum, y.grad.sum(0), **tol)
    grad_y = start.clone()
    kernels.layernorm_topk_backward_into(
        y.detach(),
        gamma.detach(),
        mean,
        rstd,
        indices,
        grad_values,
        grad_y,
        grad_gamma,
        grad_beta,
        accumulate=True,
        grad_y_sum=grad_y_sum,
    )
    torch.testing.assert_close(grad_y_sum, (start + y.grad).sum(0), **tol)


def test_given_indices_reproduce_the_forward_choice() -> None:
    y, gamma, beta = torch.randn(50, 32), torch.rand(32) + 0.5, torch.randn(32)
    values, indices, _, _ = fused(y, gamma, beta, 6)
    forced = torch.flip(indices, dims=[1]).contiguous()  # any positions, in any order
    again, kept, _, _ = fused(y, gamma, beta, 6, indices=forced.clone())
    assert torch.equal(kept, forced)
    torch.testing.assert_close(again, torch.flip(values, dims=[1]))


def test_gradcheck_float64() -> None:
    y = torch.randn(6, 10, dtype=torch.float64, requires_grad=True)
    gamma = torch.rand(10, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(10, dtype=torch.float64, requires_grad=True)
    _, indices, _, _ = fused(y.detach(), gamma.detach(), beta.detach(), 3)

    class Fused(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y, gamma, beta):  # noqa: ANN001, ANN205
            values, _, mean, rstd = fused(y, gamma, beta, 3, indices=indices.clone())
            ctx.save_for_backward(y, gamma, mean, rstd)
            return values

        @staticmethod
        def backward(ctx, grad):  # noqa: ANN001, ANN205
            y, gamma, mean, rstd = ctx.saved_tensors
            grad_y, grad_gamma, grad_beta = (torch.empty_like(y), torch.empty_like(gamma), torch.empty_like(gamma))
            kernels.layernorm_topk_backward_into(
                y, gamma, mean, rstd, indices, grad.contiguous(), grad_y, grad_gamma, grad_beta
            )
            return grad_y, grad_gamma, grad_beta

    assert torch.autograd.gradcheck(Fused.apply, (y, gamma, beta))


def test_argument_checks() -> None:
    y = torch.randn(4, 8)
    with pytest.raises(ValueError, match="k must be in"):
        kernels.layernorm_topk_into(
            y,
            torch.ones(8),
            torch.zeros(8),
            1e-5,
            torch.empty(4, 9),
            torch.empty(4, 9, dtype=torch.uint8),
            torch.empty(4),
            torch.empty(4),
        )
    with pytest.raises(ValueError, match="gamma has shape"):
        kernels.layernorm_topk_into(
            y,
            torch.ones(7),
            torch.zeros(8),
            1e-5,
            torch.empty(4, 2),
            torch.empty(4, 2, dtype=torch.uint8),
            torch.empty(4),
            torch.empty(4),
        )


def lane_block_inputs(n: int, d: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    y = 2 * torch.randn(n, d, generator=g) - 1
    return y, 1 + 0.3 * torch.randn(d, generator=g), 0.3 * torch.randn(d, generator=g)


# Widths that are multiples of 8 up to 256 with k <= 16 take the eight-rows-in-lanes path
# (both of its networks, k <= 8 and 9..16), with a partial last block (n % 8 != 0); the others
# (k > 16, d > 256, d % 8 != 0) the row path. Both list the kept entries in column order.
@pytest.mark.parametrize(
    "n,d,k",
    [
        (8, 8, 8),
        (13, 16, 3),
        (37, 64, 1),
        (37, 64, 8),
        (37, 64, 9),
        (37, 64, 16),
        (21, 128, 8),
        (21, 136, 12),
        (19, 256, 16),
        (9, 256, 7),
        (12, 64, 17),
        (10, 264, 8),
        (11, 60, 8),
    ],
)
def test_forward_matches_reference_in_column_order(n: int, d: int, k: int) -> None:
    y, gamma, beta = lane_block_inputs(n, d, seed=n * d + k)
    ref_values, ref_indices = layernorm_topk_reference(y, gamma, beta, 1e-5, k)
    values, indices, mean, rstd = fused(y, gamma, beta, k)
    assert torch.equal(indices.long(), ref_indices)
    assert bool((indices.long().diff(dim=1) > 0).all())
    torch.testing.assert_close(values, ref_values, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mean, y.mean(dim=1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rstd, torch.rsqrt(y.var(dim=1, unbiased=False) + 1e-5), rtol=1e-5, atol=1e-5)
    again, kept, _, _ = fused(y, gamma, beta, k, indices=indices.flip(1).contiguous())
    assert torch.equal(kept, indices.flip(1))
    assert torch.equal(again, values.flip(1))  # the same values, bit for bit


@pytest.mark.parametrize("d,k", [(64, 8), (64, 12), (128, 5)])
def test_ties_go_to_the_lower_column(d: int, k: int) -> None:
    # Integer rows with gamma = 1 and beta = 0: equal inputs give bit-equal outputs, so most
    # rows have a tie at their k-th largest entry.
    g = torch.Generator().manual_seed(d + k)
    y = torch.randint(-3, 4, (29, d), generator=g).float()
    gamma, beta = torch.ones(d), torch.zeros(d)
    _, ref_indices = layernorm_topk_reference(y, gamma, beta, 1e-5, k)
    values, indices, _, _ = fused(y, gamma, beta, k)
    assert torch.equal(indices.long(), ref_indices)
    torch.testing.assert_close(
        values,
        y.gather(1, ref_indices)
        .sub(y.mean(1, keepdim=True))
        .mul(torch.rsqrt(y.var(1, unbiased=False) + 1e-5)[:, None]),
    )


@pytest.mark.parametrize("d,k", [(64, 8), (128, 16), (40, 5)])
def test_nan_is_kept_first_in_column_order(d: int, k: int) -> None:
    """A NaN in h (here from a NaN gamma entry, so in every row, and from an infinite input,
    which makes its whole row NaN) is kept ahead of every number, as the reference's sort
    keeps it; the kept entries are then listed in column order."""
    y, gamma, beta = lane_block_inputs(21, d, seed=d + k)
    gamma[d // 2] = float("nan")
    y[9, 3] = float("inf")
    values, indices, _, _ = fused(y, gamma, beta, k)
    ref_values, ref_indices = layernorm_topk_reference(y, gamma, beta, 1e-5, k)
    assert torch.equal(indices.long(), ref_indices)
    torch.testing.assert_close(values, ref_values, rtol=1e-5, atol=1e-5, equal_nan=True)
    numeric_rows = [r for r in range(21) if r != 9]
    assert bool((indices[numeric_rows].long() == d // 2).any(dim=1).all())
    assert indices[9].tolist() == list(range(k))


def test_a_row_with_nan_leaves_the_other_rows_of_its_block_alone() -> None:
    y, gamma, beta = lane_block_inputs(16, 64, seed=3)
    y[5, 17] = float("nan")
    values, indices, _, _ = fused(y, gamma, beta, 8)
    ref_values, ref_indices = layernorm_topk_reference(y, gamma, beta, 1e-5, 8)
    rows = [r for r in range(16) if r != 5]
    assert torch.equal(indices[rows].long(), ref_indices[rows])
    torch.testing.assert_close(values[rows], ref_values[rows], rtol=1e-5, atol=1e-5)
    assert bool((indices[5].long() < 64).all())
