import torch

from semshare_core.matching import hash_prompt, match_prompts
from semshare_core.params import PipelineParams
from tiny import tiny_llama


def test_stored_reference_hashes_match_fresh_ones():
    """A reference hashed when it was stored must give the same match as hashing it during matching."""
    model = tiny_llama()
    generator = torch.Generator().manual_seed(0)
    reference = torch.randint(0, 99, (60,), generator=generator).tolist()
    target = reference[:20] + torch.randint(0, 99, (30,), generator=generator).tolist()
    params = PipelineParams(rope_in_matching=True)

    fresh = match_prompts(model, reference, target, (0, len(target)), params)
    stored = match_prompts(model, reference, target, (0, len(target)), params, hash_prompt(model, reference, params))

    assert torch.equal(fresh.mapping, stored.mapping)
    assert fresh.similarity == stored.similarity
