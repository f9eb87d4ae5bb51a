"""Causal attention for a sorted subset of queries, without a mask over the keys all of them attend to.

Query i attends to the first `visible[i]` keys, and `visible` never decreases. Cut the
queries into chunks of consecutive entries. The lower-left of their score matrix is then
a staircase:
- every query attends to keys [0, visible[0] - 1);
- chunk c's keys [visible[lo_c] - 1, visible[lo_{c+1}] - 1) are read whole by every later
  chunk and in part by chunk c;
- only that last part, a narrow band along the diagonal, needs a mask.
Each block runs through torch's CPU flash-attention kernel, which also returns the
log-sum-exp of each query's scores, and the blocks are merged as in online softmax.
Compared with one masked call per chunk over all its keys, the kernel reads no masked
keys outside the band, and each unmasked block has all later queries in one call.
"""

from __future__ import annotations

import torch

# NOTE: a private aten op (the public SDPA does not return the log-sum-exp on the CPU). It exists
# in the pinned torch 2.13; where it is missing, layers.attend falls back to masked chunks.
_flash_cpu = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)

# Queries per chunk. On the queries of a 4k-token run (AMD EPYC with AVX2, one thread) 32 and 64
# ran as fast as each other and 16 was slower.
QUERIES_PER_CHUNK = 32


def available(q: torch.Tensor) -> bool:
    """Return whether the staircase can run on q's device (the kernel it uses exists on the CPU only)."""
    return q.device.type == "cpu" and _flash_cpu is not None


def applies(visible: torch.Tensor) -> bool:
    """Return whether every query attends to a key and none to fewer keys than the query before it."""
    return visible.numel() > 0 and bool(visible[0] >= 1) and bool((visible[1:] >= visible[:-1]).all())


def staircase_attention(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, visible: torch.Tensor,
                        scale: float) -> torch.Tensor:
    """Return the attention of queries (H, S, D) over keys and values (Hkv, N, D), shaped (H, S, D).

    `visible` (S,) is non-decreasing and at least 1: query i attends to keys [0, visible[i]).
    """
    # The CPU flash kernel reads the last dimension as if its stride were 1, without checking.
    q, keys, values = (x if x.stride(-1) == 1 else x.contiguous() for x in (q, keys, values))
    n_queries = q.shape[1]
    state = _OnlineSoftmax(q.new_zeros(q.shape, dtype=torch.float32),
                           q.new_full(q.shape[:2], float("-inf"), dtype=torch.float32))
    q, keys, values = q[None], keys[None], values[None]
    bounds = list(range(0, n_queries, QUERIES_PER_CHUNK)) + [n_queries]
    edges = (visible[bounds[:-1]] - 1).tolist() + [None]  # the last key each chunk's first query attends to

    state.add_block(0, n_queries, q, keys[:, :, :edges[0]], values[:, :, :edges[0]], None, scale)
    for index, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        start, stop = edges[index], int(visible[hi - 1])
        band = torch.arange(start, stop, device=visible.device)
        mask = torch.zeros(hi - lo, stop - start, dtype=q.dtype, device=q.device) \
            .masked_fill_(band[None, :] >= visible[lo:hi, None], float("-inf"))
        state.add_block(lo, hi, q[:, :, lo:hi], keys[:, :, start:stop], values[:, :, start:stop], mask, scale)
        if hi < n_queries:
            end = edges[index + 1]
            state.add_block(hi, n_queries, q[:, :, hi:], keys[:, :, start:end], values[:, :, start:end], None, scale)
    return state.out.to(q.dtype)


class _OnlineSoftmax:
    """Running attention output and log-sum-exp per query, merged block by block."""

    def __init__(self, out: torch.Tensor, lse: torch.Tensor):
        self.out = out  # (H, S, D) float32
        self.lse = lse  # (H, S) float32

    def add_block(self, lo: int, hi: int, q, keys, values, mask, scale: float) -> None:
        """Merge the attention of queries [lo, hi) over one block of keys into the running state."""
        if keys.shape[2] == 0 or hi == lo:
            return
        block_out, block_lse = _flash_cpu(q, keys, values, 0.0, False, attn_mask=mask, scale=scale)
        block_out, block_lse = block_out[0].float(), block_lse[0].float()
        out, lse = self.out[:, lo:hi], self.lse[:, lo:hi]
        merged = torch.logaddexp(lse, block_lse)
        out.mul_((lse - merged).exp_()[..., None]).addcmul_(block_out, (block_lse - merged).exp_()[..., None])
        lse.copy_(merged)
