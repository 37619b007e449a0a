"""Data-parallel training across designs with ``torch.distributed`` (launched by ``torchrun``).

Under ``torchrun`` (environment variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) each process joins one process group: ``gloo`` on CPU,
``nccl`` on CUDA (one GPU per process, ``cuda:LOCAL_RANK``). The training designs are dealt
round-robin (rank ``r`` takes designs ``r, r + W, r + 2W, ...``), every rank runs the same number
of steps per epoch (a rank with fewer designs revisits its first ones), and
``DistributedDataParallel`` averages gradients, so all ranks hold identical weights.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job (``world_size == 1`` when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, items: list[str]) -> list[str]:
        """This rank's round-robin share of ``items``."""
        return items[self.rank :: self.world_size]

    def steps_per_epoch(self, num_items: int) -> int:
        return math.ceil(num_items / self.world_size)

    def all_reduce_sum(self, values: list[float], device: torch.device) -> list[float]:
        """Sum float values over ranks (identity when not distributed)."""
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the process group when launched by ``torchrun``; return the context and this rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(), device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world_size, local_rank), device


def shutdown_distributed(ctx: DistContext) -> None:
    if ctx.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
