"""Prompt store: pick a target's reference among stored prompts, as SemShareKV does.

Each stored prompt is scored against the target with the pipeline's own LSH similarity
over input embeddings (`matching.match_prompts`), and with a lexical MinHash estimate of
word-shingle Jaccard similarity. A `datasketch.MinHashLSH` index over the stored texts
shows which prompts a text-level cache would find as near-duplicates: it finds copies
and light edits, but usually misses a paraphrase that the embedding LSH still matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from .errors import EmptyPromptError, InvalidParameterError, PromptTooLongError
from .matching import lexical_similarity, match_prompts, word_shingles
from .model import ModelBundle
from .params import PipelineParams
from .prompts import DEFAULT_INSTRUCTION, build_prompt

# The same shingle size and permutation count as matching.lexical_similarity.
SHINGLE_WORDS = 3
NUM_PERM = 128
DEFAULT_LEXICAL_THRESHOLD = 0.5


@dataclass(frozen=True)
class StoredPrompt:
    """A reference prompt kept in the store, with where it came from."""

    name: str
    text: str
    source: str = "added"


@dataclass(frozen=True)
class Candidate:
    """One stored prompt scored against a target prompt."""

    name: str
    source: str
    lsh_similarity: float        # 1 - d/d_max over the target's document tokens, 0-1
    mean_distance: float         # d: mean nearest-neighbour Hamming distance, in bits
    lexical_similarity: float    # MinHash estimate of word 3-shingle Jaccard similarity, 0-1
    lexical_index_hit: bool      # whether the MinHashLSH index returned this prompt
    reusable: bool               # lsh_similarity >= params.similarity_threshold
    n_tokens: int                # tokens of the wrapped reference prompt


def text_minhash(text: str) -> MinHash:
    """Return the MinHash of the text's word shingles, seeded like matching.lexical_similarity."""
    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    for shingle in word_shingles(text, SHINGLE_WORDS):
        minhash.update(shingle.encode("utf-8"))
    return minhash


def lexical_index_hits(target_text: str, stored: list[StoredPrompt],
                       threshold: float = DEFAULT_LEXICAL_THRESHOLD) -> set[str]:
    """Return the names of stored prompts that a MinHashLSH index returns for the target.

    The index approximates "estimated Jaccard similarity >= threshold" with banding, so
    a prompt near the threshold may be returned or missed. Raises InvalidParameterError
    for a threshold outside (0, 1).
    """
    if not 0.0 < threshold < 1.0:
        raise InvalidParameterError(f"The lexical threshold must be between 0 and 1 (exclusive), got {threshold}.")
    index = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for prompt in stored:
        index.insert(prompt.name, text_minhash(prompt.text))
    return set(index.query(text_minhash(target_text)))


def rank_references(bundle: ModelBundle, target_text: str, stored: list[StoredPrompt],
                    params: PipelineParams | None = None, *, instruction: str = DEFAULT_INSTRUCTION,
                    truncate: int | None = None,
                    lexical_threshold: float = DEFAULT_LEXICAL_THRESHOLD) -> list[Candidate]:
    """Score every stored prompt against the target, best LSH similarity first.

    Both prompts are wrapped as the pipeline wraps them, and the similarity is the one
    that decides reuse in a run. Raises a SemShareError subclass (for example
    EmptyPromptError) naming the target or the stored prompt at fault, and
    InvalidParameterError when two stored prompts share a name.
    """
    params = params or PipelineParams()
    _check_unique_names(stored)
    target = _build("the target prompt", bundle, target_text, instruction, truncate)
    hits = lexical_index_hits(target_text, stored, lexical_threshold)

    candidates = []
    for prompt in stored:
        reference = _build(f"stored prompt {prompt.name!r}", bundle, prompt.text, instruction, truncate)
        # The similarity is computed before the RoPE step, so skipping that step changes nothing here.
        match = match_prompts(bundle.model, reference.token_ids, target.token_ids, target.document_span,
                              params.replace(rope_in_matching=False))
        candidates.append(Candidate(
            name=prompt.name, source=prompt.source, lsh_similarity=match.similarity,
            mean_distance=match.mean_distance,
            lexical_similarity=lexical_similarity(prompt.text, target_text, SHINGLE_WORDS, NUM_PERM),
            lexical_index_hit=prompt.name in hits, reusable=match.similarity >= params.similarity_threshold,
            n_tokens=reference.n_tokens))
    return sorted(candidates, key=lambda candidate: -candidate.lsh_similarity)


def _check_unique_names(stored: list[StoredPrompt]) -> None:
    seen = set()
    for prompt in stored:
        if prompt.name in seen:
            raise InvalidParameterError(f"Two stored prompts are named {prompt.name!r}. Give each a unique name.")
        seen.add(prompt.name)


def _build(role: str, bundle: ModelBundle, text: str, instruction: str, truncate: int | None):
    # Name the prompt at fault, since the store scores many prompts in one call.
    try:
        return build_prompt(bundle, text, instruction, truncate)
    except PromptTooLongError as error:
        raise PromptTooLongError(f"{role[:1].upper() + role[1:]}: {error}", error.n_tokens, error.limit) from error
    except (EmptyPromptError, InvalidParameterError) as error:
        raise type(error)(f"{role[:1].upper() + role[1:]}: {error}") from error
