"""View: a 2-D UMAP map of both prompts' E caches, with each target token joined to its match.

The E cache is the input embedding of every token, the vectors that LSH matching hashes.
The map recomputes them from the run's model (a lookup, no forward pass) instead of
storing them in the RunResult, and caches the projection per run and rotation.
"""

from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

import semshare_core as ss
from app import linked
from app.model_loader import load_bundle
from app.tokens import hover_text
from app.views.charts import show_token_chart
from semshare_core.matching import embedding_cache, embedding_center, rotate_embeddings
from semshare_core.model import EMBEDDED_MODEL_ID

logger = logging.getLogger(__name__)

# Okabe-Ito sky blue and vermillion: distinct under the common colour-vision deficiencies,
# and apart from the blue and orange that mean reused and recomputed in the other views.
REFERENCE_COLOR = "#56B4E9"
TARGET_COLOR = "#D55E00"
MATCH_LINE_COLOR = "rgba(120, 120, 120, 0.35)"
MAX_LINES = 300    # match lines drawn at most; more would hide the points
UMAP_SEED = 42     # fixed, so that one run always gives the same map
PCA_DIMENSIONS = 50
MIN_POINTS = 5     # UMAP needs a few neighbours per point
REQUESTED_KEY = "embedding_map_result"  # the RunResult whose map the user asked for


def render(result: ss.RunResult) -> None:
    if len(result.mapping) != result.n_target_tokens:
        st.info("This run has no token matching to show.")
        return
    if result.n_reference_tokens + result.n_target_tokens < MIN_POINTS:
        st.info(f"The two prompts have fewer than {MIN_POINTS} tokens together, too few for a map.")
        return
    _map_view(result)


@st.fragment
def _map_view(result: ss.RunResult) -> None:
    # UMAP takes seconds to tens of seconds, and every tab runs on each rerun, so the map
    # waits for a click once per run instead of slowing down the first display of a result.
    if st.session_state.get(REQUESTED_KEY) is not result:
        st.caption("A 2-D UMAP map of both prompts' token embeddings, each target token joined to the reference "
                   "token it was matched to. The button computes it once per run, which takes from a few "
                   "seconds to about half a minute on a CPU.")
        st.button("Compute the embedding map", key="embedding_map_compute", on_click=_request, args=(result,),
                  help="Projects both prompts' token embeddings to 2-D with UMAP. The first map after a run "
                       "takes from a few seconds to about half a minute for two 1,500-token prompts on a "
                       "2-core CPU; later views of it are instant.")
        return
    rotated = st.toggle("Rotate the embeddings with RoPE first", value=result.params.rope_in_matching,
                        key="embedding_map_rotated",
                        help="On: each token's embedding is rotated by its position (RoPE, base "
                             f"{result.params.matching_rope_base:g}), as matching does when "
                             "'RoPE on embeddings before hashing' is on in the sidebar. Off: the plain embeddings, "
                             "without position.")
    rope_base = float(result.params.matching_rope_base) if rotated else None
    try:
        points = projection(_model_key(result.model_name), _device_key(result.device),
                            tuple(result.reference.token_ids), tuple(result.target.token_ids), rope_base)
    except Exception as error:  # noqa: BLE001 - a missing model must give a message, not a traceback
        logger.warning("Embedding map for model %r failed: %s", result.model_name, error)
        st.info(f"The embedding map needs the model that made this run ({result.model_name}), "
                f"which could not be loaded: {type(error).__name__}: {error}")
        return

    selected = linked.selected_token(result)
    show_token_chart(map_figure(result, points, selected), key="embedding_map",
                     n_target_tokens=result.n_target_tokens)
    linked.rerun_app_after_click()
    _captions(result, rotated)


def _request(result: ss.RunResult) -> None:
    st.session_state[REQUESTED_KEY] = result


def _captions(result: ss.RunResult, rotated: bool) -> None:
    rotation = "rotated by RoPE at each token's position" if rotated else "without position"
    st.caption(f"UMAP projection of the centred input embeddings of both prompts ({rotation}), cosine "
               "metric. Grey lines join each target token to the reference token it was matched to; "
               "the black ring and line are the selected token and its match. Click a target point to "
               "select it. UMAP keeps near neighbours near, but distances between far-apart groups and "
               "the size of groups mean little. The matching itself used the full-width vectors.")
    if result.params.rope_in_matching != rotated:
        st.caption("The lines show the run's matches, which used the other setting "
                   f"(RoPE in matching was {'on' if result.params.rope_in_matching else 'off'}).")
    if result.n_target_tokens > MAX_LINES:
        st.caption(f"The target has {result.n_target_tokens:,} tokens, so lines are drawn for "
                   f"{MAX_LINES} evenly spaced target tokens and the selected one.")


def _model_key(model_name: str) -> str | None:
    # The page loads the embedded model as None, so this reuses its cached bundle.
    return None if model_name == EMBEDDED_MODEL_ID else model_name


def _device_key(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


@st.cache_data(show_spinner="Projecting the embeddings with UMAP (only the first time for this run)…",
               max_entries=16)
def projection(model_key: str | None, device: str, reference_ids: tuple[int, ...], target_ids: tuple[int, ...],
               rope_base: float | None) -> np.ndarray:
    """Return the 2-D UMAP coordinates of the reference tokens, then the target tokens, shape (R + T, 2)."""
    model = load_bundle(model_key, device).model
    vectors = torch.cat([embedding_vectors(model, list(reference_ids), rope_base),
                         embedding_vectors(model, list(target_ids), rope_base)])  # (R + T, d)
    return umap_projection(vectors.numpy())


def embedding_vectors(model, token_ids: list[int], rope_base: float | None) -> torch.Tensor:
    """Return the centred input embeddings that matching hashes, rotated when `rope_base` is given."""
    vectors = embedding_cache(model, token_ids) - embedding_center(model)  # (N, d)
    if rope_base is not None:
        vectors = rotate_embeddings(vectors, rope_base)
    return vectors


def umap_projection(vectors: np.ndarray) -> np.ndarray:
    """Project (N, d) vectors to (N, 2) with UMAP under the cosine metric, reproducibly."""
    # Imported here because umap-learn's import compiles Numba code for several seconds.
    import umap
    from sklearn.decomposition import PCA

    n_points = vectors.shape[0]
    # Fewer input dimensions shorten the neighbour search. For 3,076 tokens of SmolLM2
    # (576 dimensions) on a loaded 2-core machine, one map took 22 s with PCA first and 27 s without.
    if vectors.shape[1] > PCA_DIMENSIONS and n_points > PCA_DIMENSIONS:
        vectors = PCA(n_components=PCA_DIMENSIONS, random_state=UMAP_SEED).fit_transform(vectors)
    # A PCA start avoids the spectral start, which fails on graphs split into many parts
    # (repeated tokens give identical plain embeddings). 200 epochs is UMAP's own choice for large inputs.
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n_points - 1), metric="cosine", init="pca",
                        n_epochs=200, random_state=UMAP_SEED, n_jobs=1)
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def map_figure(result: ss.RunResult, points: np.ndarray, selected: int | None = None) -> go.Figure:
    n_reference = result.n_reference_tokens
    reference_xy, target_xy = points[:n_reference], points[n_reference:]  # (R, 2), (T, 2)
    mapping = np.asarray(result.mapping)
    distance = np.asarray(result.match_distance, dtype=float)
    positions = np.arange(result.n_target_tokens)

    figure = go.Figure()
    _add_match_lines(figure, reference_xy, target_xy, mapping, line_positions(result.n_target_tokens, selected))
    figure.add_trace(go.Scattergl(
        x=reference_xy[:, 0], y=reference_xy[:, 1], mode="markers", name="reference tokens",
        # Larger than the target markers: an identical token has the same embedding, and
        # the reference point must stay visible around the target point on top of it.
        marker=dict(size=11, color=REFERENCE_COLOR),
        hovertext=[f"reference {index} {hover_text(token)}" for index, token in enumerate(result.reference.tokens)],
        hoverinfo="text"))
    figure.add_trace(go.Scattergl(
        x=target_xy[:, 0], y=target_xy[:, 1], mode="markers", name="target tokens", customdata=positions,
        marker=dict(size=6, color=TARGET_COLOR, symbol="diamond-open"),
        hovertext=[f"target {t} {hover_text(result.target.tokens[t])}<br>→ reference {mapping[t]} "
                   f"{hover_text(result.reference.tokens[mapping[t]])}<br>distance {distance[t]:.1f} bits"
                   for t in positions],
        hoverinfo="text"))
    if selected is not None:
        _add_selected(figure, reference_xy[mapping[selected]], target_xy[selected], selected)

    figure.update_layout(height=560, margin=dict(t=40, b=40), clickmode="event+select",
                         legend=dict(orientation="h", x=0.0, xanchor="left", y=1.0, yanchor="bottom"),
                         xaxis=dict(title="UMAP 1 (no unit)", showticklabels=False),
                         yaxis=dict(title="UMAP 2 (no unit)", showticklabels=False))
    return figure


def line_positions(n_target_tokens: int, selected: int | None) -> np.ndarray:
    """Return the target positions whose match line is drawn: all, or MAX_LINES evenly spaced."""
    if n_target_tokens <= MAX_LINES:
        return np.arange(n_target_tokens)
    spaced = np.linspace(0, n_target_tokens - 1, MAX_LINES).round().astype(int)
    return np.unique(spaced if selected is None else np.append(spaced, selected))


def _add_match_lines(figure: go.Figure, reference_xy: np.ndarray, target_xy: np.ndarray, mapping: np.ndarray,
                     positions: np.ndarray) -> None:
    # One trace of segments separated by NaN gaps draws hundreds of lines quickly.
    xs = np.full(3 * len(positions), np.nan)
    ys = np.full(3 * len(positions), np.nan)
    xs[0::3], ys[0::3] = target_xy[positions, 0], target_xy[positions, 1]
    xs[1::3], ys[1::3] = reference_xy[mapping[positions], 0], reference_xy[mapping[positions], 1]
    figure.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", name="match", hoverinfo="skip",
                                  line=dict(color=MATCH_LINE_COLOR, width=1)))


def _add_selected(figure: go.Figure, reference_point: np.ndarray, target_point: np.ndarray, selected: int) -> None:
    figure.add_trace(go.Scatter(
        x=[target_point[0], reference_point[0]], y=[target_point[1], reference_point[1]],
        mode="lines+markers", name=f"selected token {selected} and its match", hoverinfo="skip",
        line=dict(color=linked.HIGHLIGHT, width=3),
        marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color=linked.HIGHLIGHT, width=3))))
