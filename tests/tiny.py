"""A tiny random Llama model of the embedded model's architecture, for fast unit tests."""

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def tiny_llama(num_key_value_heads: int = 2, seed: int = 0) -> LlamaForCausalLM:
    """Three-layer Llama with grouped-query attention, vocabulary 99, hidden size 32."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=99, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=num_key_value_heads, head_dim=8,
        max_position_embeddings=512, rope_theta=10000.0, tie_word_embeddings=True,
        attn_implementation="sdpa", bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForCausalLM(config).eval()
    model.requires_grad_(False)
    return model
