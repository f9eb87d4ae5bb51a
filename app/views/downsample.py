"""Column binning for layer × token heatmaps, so long prompts send a bounded figure.

A 6,000-token prompt on a 30-layer model gives 180,000 cells per map. The deviation
view's two maps then took 9.8 MB of figure JSON with per-cell hover text, and 1.0 MB
binned. Above MAX_COLUMNS tokens, adjacent tokens share one column.
"""

from __future__ import annotations

import numpy as np

from app.tokens import hover_text

MAX_COLUMNS = 600


def column_edges(n_tokens: int, max_columns: int = MAX_COLUMNS) -> np.ndarray:
    """Return the start of each column and, last, n_tokens: one column per token when they fit."""
    if n_tokens <= max_columns:
        return np.arange(n_tokens + 1)
    return np.linspace(0, n_tokens, max_columns + 1).round().astype(int)


def is_binned(edges: np.ndarray) -> bool:
    return bool(np.any(np.diff(edges) > 1))


def max_per_column(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Reduce (L, T) values to (L, columns) by the maximum, so a single high token stays visible."""
    return np.maximum.reduceat(values, edges[:-1], axis=1)


def count_per_column(mask: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count the true entries of an (L, T) mask in each column, shape (L, columns)."""
    return np.add.reduceat(mask.astype(np.int32), edges[:-1], axis=1)


def column_labels(tokens: list[str], edges: np.ndarray) -> np.ndarray:
    """Return hover labels: the token itself for one-token columns, else its position range."""
    labels = []
    for start, end in zip(edges[:-1], edges[1:]):
        labels.append(hover_text(tokens[start]) if end - start == 1 else f"({start}-{end - 1})")
    return np.array(labels, dtype=object)


def column_start(position: int, edges: np.ndarray) -> int:
    """Return the x value (first token) of the column that contains target `position`."""
    index = int(np.searchsorted(edges, position, side="right")) - 1
    return int(edges[min(max(index, 0), len(edges) - 2)])
