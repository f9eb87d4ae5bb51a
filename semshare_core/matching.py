"""Token matching: E cache, RoPE on embeddings, random-hyperplane LSH and Hamming search."""

from __future__ import annotations

import functools
import re
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from datasketch import MinHash

from .params import PipelineParams

_TARGET_CHUNK = 256
_centers: "weakref.WeakKeyDictionary[torch.nn.Module, torch.Tensor]" = weakref.WeakKeyDictionary()


@dataclass
class MatchResult:
    mapping: torch.Tensor     # (T,) long: reference position for each target position
    distance: torch.Tensor    # (T,) float: mean Hamming distance per table, in bits
    similarity: float         # prompt-level similarity in [0, 1]
    mean_distance: float      # d in the similarity formula


def embedding_cache(model, token_ids: list[int]) -> torch.Tensor:
    """Return the input embeddings of `token_ids` as float32 on the CPU."""
    embed = model.get_input_embeddings()
    ids = torch.tensor(token_ids, dtype=torch.long, device=embed.weight.device)
    with torch.no_grad():
        return embed(ids).float().cpu()  # (N, d)


def embedding_center(model) -> torch.Tensor:
    """Mean input embedding over the vocabulary, computed once per model.

    Token embeddings share a large common component. Hyperplanes through the origin
    would then give most tokens the same bits, so hashing uses centred vectors.
    """
    center = _centers.get(model)
    if center is None:
        with torch.no_grad():
            center = model.get_input_embeddings().weight.float().mean(dim=0).cpu()  # (d,)
        _centers[model] = center
    return center


def rotate_embeddings(embeddings: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate dimension pairs (2k, 2k+1) by position * base^(-2k/d), as RoPE does."""
    n_tokens, width = embeddings.shape
    half = width // 2
    inv_freq = base ** (-torch.arange(half, dtype=torch.float32) * 2 / width)  # (d/2,)
    angles = torch.arange(n_tokens, dtype=torch.float32)[:, None] * inv_freq[None, :]  # (N, d/2)
    cos, sin = angles.cos(), angles.sin()

    even, odd = embeddings[:, 0:2 * half:2], embeddings[:, 1:2 * half:2]
    rotated = embeddings.clone()
    rotated[:, 0:2 * half:2] = even * cos - odd * sin
    rotated[:, 1:2 * half:2] = even * sin + odd * cos
    return rotated


def lsh_signatures(vectors: torch.Tensor, params: PipelineParams) -> torch.Tensor:
    """Return +-1 signatures of shape (N, bits * tables) from random hyperplanes."""
    planes = _hyperplanes(params.lsh_seed, vectors.shape[1], params.lsh_bits * params.lsh_tables)
    return torch.where(vectors @ planes >= 0, 1.0, -1.0)


@functools.lru_cache(maxsize=16)
def _hyperplanes(seed: int, width: int, count: int) -> torch.Tensor:
    """Return `count` random hyperplane normals, shaped (width, count). Callers must not modify them."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(width, count, generator=generator)




def nearest_tokens(target_sig: torch.Tensor, reference_sig: torch.Tensor, params: PipelineParams,
                   window: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Map each target token to the reference token at the smallest Hamming distance.

    Returns (mapping, distance, window_distance). Ties go to the reference position
    closest to the target's relative position, rather than to the first reference token,
    which would pile matches on the start. `window_distance` is the smallest distance
    among reference tokens within window/2 positions of that relative position (the
    plain distance when `window` is None).
    """
    n_target, n_reference = target_sig.shape[0], reference_sig.shape[0]
    tables = params.lsh_tables
    tie_weight = 0.5 / tables / n_reference
    reference_positions = torch.arange(n_reference, dtype=torch.float32)

    mappings, distances, window_distances = [], [], []
    for start in range(0, n_target, _TARGET_CHUNK):
        chunk = target_sig[start:start + _TARGET_CHUNK]
        # Hamming distance of +-1 vectors: (bits - dot) / 2, averaged over tables.
        bits = torch.tensor(chunk.shape[1] / (2 * tables))
        hamming = torch.addmm(bits, chunk, reference_sig.T, alpha=-1 / (2 * tables))  # (t, R)
        expected = (torch.arange(start, start + chunk.shape[0], dtype=torch.float32) + 0.5) \
            * n_reference / n_target
        offset = (reference_positions[None, :] - expected[:, None]).abs_()  # (t, R)
        best = torch.add(hamming, offset, alpha=tie_weight).argmin(dim=1)
        mappings.append(best)
        distances.append(hamming.gather(1, best[:, None]).squeeze(1))
        if window is not None and window < n_reference:
            window_distances.append(_window_min(hamming, offset, expected, window))
        else:
            window_distances.append(distances[-1])
    return torch.cat(mappings), torch.cat(distances), torch.cat(window_distances)


def _window_min(hamming: torch.Tensor, offset: torch.Tensor, expected: torch.Tensor, window: int) -> torch.Tensor:
    """Smallest distance of each row among the columns within window/2 of its expected position.

    Only the band of columns that some row's window covers is read.
    """
    low = max(0, int(expected.min() - window / 2))
    high = min(hamming.shape[1], int(expected.max() + window / 2) + 1)
    band = hamming[:, low:high].masked_fill(offset[:, low:high] > window / 2, float("inf"))
    return band.amin(dim=1)


def prompt_similarity(distance: torch.Tensor, span: tuple[int, int], params: PipelineParams) -> tuple[float, float]:
    """Return (similarity, d): d is the mean match distance over the document tokens."""
    start, end = span
    scored = distance[start:end] if end > start else distance
    mean_distance = float(scored.mean())
    d_max = params.d_max_fraction * params.lsh_bits
    similarity = float(np.clip(1.0 - mean_distance / d_max, 0.0, 1.0))
    return similarity, mean_distance


@dataclass
class HashedPrompt:
    """A prompt's LSH signatures, which a server keeps with the prompt's cache, as it keeps its E cache."""

    plain: torch.Tensor           # (N, bits * tables) from the plain embeddings
    rotated: torch.Tensor | None  # from the RoPE-rotated embeddings, with rope_in_matching


def hash_prompt(model, token_ids: list[int], params: PipelineParams) -> HashedPrompt:
    """Hash the centred input embeddings of `token_ids`, and their rotated form when matching uses RoPE."""
    vectors = embedding_cache(model, token_ids) - embedding_center(model)
    rotated = lsh_signatures(rotate_embeddings(vectors, params.matching_rope_base), params) \
        if params.rope_in_matching else None
    return HashedPrompt(plain=lsh_signatures(vectors, params), rotated=rotated)


def match_prompts(model, reference_ids: list[int], target_ids: list[int], target_span: tuple[int, int],
                  params: PipelineParams, reference: HashedPrompt | None = None) -> MatchResult:
    """Score the prompt pair, then match every target token to a reference token.

    The prompt similarity, which decides whether to reuse at all, compares plain
    embeddings (choosing a reference precedes adding positions), each target token
    against a window of `similarity_window` reference tokens around its relative
    position. A fixed window keeps d independent of the reference's length: over a
    whole long text, unrelated tokens find close neighbours by chance. The token mapping uses
    the RoPE-rotated embeddings when `rope_in_matching` is set. `reference`, hashed with
    the same parameters when the reference was stored, saves hashing it again.
    """
    reference = reference or hash_prompt(model, reference_ids, params)
    target = hash_prompt(model, target_ids, params)
    mapping, distance, window_distance = nearest_tokens(target.plain, reference.plain, params,
                                                        params.similarity_window)
    similarity, mean_distance = prompt_similarity(window_distance, target_span, params)

    if params.rope_in_matching:
        mapping, distance, _ = nearest_tokens(target.rotated, reference.rotated, params)
    return MatchResult(mapping=mapping, distance=distance, similarity=similarity, mean_distance=mean_distance)


def lexical_similarity(text_a: str, text_b: str, shingle_words: int = 3, num_perm: int = 128) -> float:
    """Estimate the Jaccard similarity of the two texts' word shingles with MinHash."""
    hashes = []
    for text in (text_a, text_b):
        minhash = MinHash(num_perm=num_perm, seed=1)
        for shingle in word_shingles(text, shingle_words):
            minhash.update(shingle.encode("utf-8"))
        hashes.append(minhash)
    return float(hashes[0].jaccard(hashes[1]))


def word_shingles(text: str, size: int) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}
