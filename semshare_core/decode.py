"""Autoregressive decoding, from the engine's per-layer caches and from the model's own cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from . import layers as L
from .engine import LayerKV
from .params import PipelineParams


@dataclass
class Generation:
    token_ids: list[int]
    text: str
    tokens: list[str]


class Sampler:
    """Greedy or nucleus sampling with its own seeded generator."""

    def __init__(self, params: PipelineParams, device: torch.device):
        self.params = params
        self.generator = torch.Generator(device=device).manual_seed(params.sample_seed)

    def __call__(self, logits: torch.Tensor) -> int:
        if not self.params.do_sample:
            return int(logits.argmax())
        probs = (logits.float() / self.params.temperature).softmax(dim=-1)
        sorted_probs, order = probs.sort(descending=True)
        outside = sorted_probs.cumsum(0) - sorted_probs > self.params.top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=self.generator)
        return int(order[choice])


def stop_ids(tokenizer, model) -> set[int]:
    ids = set()
    for source in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif source:
            ids.update(source)
    return ids


def finish(tokenizer, token_ids: list[int]) -> Generation:
    return Generation(
        token_ids=token_ids,
        text=tokenizer.decode(token_ids, skip_special_tokens=True).strip(),
        tokens=[tokenizer.decode([t]) for t in token_ids])


def _generate(model, tokenizer, first_logits: torch.Tensor, params: PipelineParams,
              next_logits: Callable[[int, int], torch.Tensor]) -> Generation:
    """Sample up to max_new_tokens; `next_logits(token, step)` feeds a token and returns the next logits."""
    sampler, stops = Sampler(params, first_logits.device), stop_ids(tokenizer, model)
    generated, logits = [], first_logits
    for step in range(params.max_new_tokens):
        token = sampler(logits)
        generated.append(token)
        if token in stops or step == params.max_new_tokens - 1:
            break
        logits = next_logits(token, step)
    return finish(tokenizer, generated)


@torch.no_grad()
def decode_from_layers(model, tokenizer, cache: list[LayerKV], first_logits: torch.Tensor,
                       n_prompt_tokens: int, params: PipelineParams) -> Generation:
    """Generate from per-layer caches that may hold different tokens in each layer.

    New tokens are appended to every layer and never evicted.
    """
    device = first_logits.device
    keys = [layer.keys for layer in cache]
    values = [layer.values for layer in cache]

    def next_logits(token: int, step: int) -> torch.Tensor:
        position = torch.tensor([n_prompt_tokens + step], device=device)
        return _decode_step(model, token, position, keys, values)

    return _generate(model, tokenizer, first_logits, params, next_logits)


def _decode_step(model, token: int, position: torch.Tensor, keys: list, values: list) -> torch.Tensor:
    cos, sin = L.rope_tables(model, position, model.dtype)
    hidden = model.model.embed_tokens(torch.tensor([token], device=position.device))  # (1, d)
    for index, block in enumerate(model.model.layers):
        attn = block.self_attn
        q, k, v = L.project_qkv(attn, block.input_layernorm(hidden), cos, sin)
        keys[index] = torch.cat([keys[index], k], dim=1)
        values[index] = torch.cat([values[index], v], dim=1)
        out = L.attend(attn, q, keys[index], values[index], None, None)
        hidden = L.feed_forward(block, hidden, out)
    return L.final_logits(model, hidden)[0]


@torch.no_grad()
def decode_from_model(model, tokenizer, past_key_values, first_logits: torch.Tensor,
                      n_prompt_tokens: int, params: PipelineParams) -> Generation:
    """Generate with the model's own forward and cache, as a user without SemShareKV would."""
    device = first_logits.device
    cache = {"past_key_values": past_key_values}

    def next_logits(token: int, step: int) -> torch.Tensor:
        output = model(
            input_ids=torch.tensor([[token]], device=device),
            position_ids=torch.tensor([[n_prompt_tokens + step]], device=device),
            past_key_values=cache["past_key_values"], use_cache=True)
        cache["past_key_values"] = output.past_key_values
        return output.logits[0, -1].float()

    return _generate(model, tokenizer, first_logits, params, next_logits)
