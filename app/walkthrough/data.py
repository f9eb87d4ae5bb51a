"""Values that the run result does not store, recomputed for the walkthrough's figures.

Embeddings and LSH signatures come from the library's own matching functions, so the
figures show what the run computed. The cached functions are keyed by the run's digest;
arguments with a leading underscore are not hashed.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

import semshare_core as ss
from semshare_core import matching
from semshare_core.bench.prefix import common_prefix_length

# Bits of a signature that name its bucket in the LSH step.
BUCKET_BITS = 8


@st.cache_data(max_entries=8, show_spinner="Computing token embeddings…")
def centred_embeddings(run_key: str, role: str, rotated: bool, _bundle: ss.ModelBundle,
                       _token_ids: list[int], _rope_base: float) -> np.ndarray:
    """Return a prompt's E cache minus the vocabulary's mean embedding, as matching hashes it.

    With `rotated`, each row is rotated by RoPE at its own position. Returns (N, d) float32.
    """
    center = matching.embedding_center(_bundle.model)
    vectors = matching.embedding_cache(_bundle.model, _token_ids) - center
    if rotated:
        vectors = matching.rotate_embeddings(vectors, _rope_base)
    return vectors.numpy()


def signature_bits(vectors: np.ndarray, params: ss.PipelineParams) -> np.ndarray:
    """Return the LSH signatures of `vectors` (N, d) as 0/1 bits, shape (N, bits * tables)."""
    signs = matching.lsh_signatures(torch.from_numpy(np.ascontiguousarray(vectors)), params)
    return (signs.numpy() > 0).astype(np.int8)


def bucket_id(bits: np.ndarray) -> int:
    """Return the number formed by the first BUCKET_BITS bits of one signature."""
    value = 0
    for bit in bits[:BUCKET_BITS]:
        value = (value << 1) | int(bit)
    return value


def rope_self_similarity(vector: np.ndarray, offsets: np.ndarray, base: float) -> np.ndarray:
    """Return the cosine similarity of one vector with itself moved by each offset, under RoPE.

    RoPE turns dimension pair k by position * base^(-2k/d). Two copies of a vector whose
    positions differ by D then have cosine sum_k r_k^2 cos(D * theta_k) / sum_k r_k^2,
    where r_k is the length of pair k.
    """
    width = vector.shape[0] - vector.shape[0] % 2
    pairs = vector[:width].reshape(-1, 2)
    weights = (pairs ** 2).sum(axis=1)  # (d/2,)
    unrotated = float((vector[width:] ** 2).sum())  # the last dimension of an odd width never turns
    theta = base ** (-np.arange(width // 2) * 2.0 / vector.shape[0])  # (d/2,)
    cosines = np.cos(offsets[:, None] * theta[None, :])  # (n_offsets, d/2)
    return (cosines @ weights + unrotated) / max(float(weights.sum()) + unrotated, 1e-12)
