"""The walkthrough's steps, in teaching order: each has a title and a function that draws it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.walkthrough import step_cache, step_embeddings, step_layers, step_lsh, step_outcome, step_problem
from app.walkthrough.context import StepContext


@dataclass(frozen=True)
class Step:
    title: str
    render: Callable[[StepContext], None]


STEPS = (
    Step("The problem: no shared prefix", step_problem.render),
    Step("The E cache: token embeddings", step_embeddings.render_e_cache),
    Step("Adding position: RoPE rotation", step_embeddings.render_rope),
    Step("LSH signatures and buckets", step_lsh.render_signatures),
    Step("Matching tokens", step_lsh.render_matching),
    Step("Rearranging the cache", step_cache.render_rearrange),
    Step("Layer 0 and high-deviation tokens", step_cache.render_layer_zero),
    Step("Gradual filtering across layers", step_layers.render_filtering),
    Step("Retention: evicting tokens", step_layers.render_retention),
    Step("Decoding", step_outcome.render_decoding),
    Step("The result: time, memory, outputs", step_outcome.render_result),
)
