"""Colours shared by every view, so that one state has one colour everywhere.

The three cache states use the Okabe-Ito palette, which stays distinguishable under
the common forms of colour blindness.
"""

REUSED = "#0072B2"       # blue: K/V taken from the rearranged reference cache
RECOMPUTED = "#E69F00"   # orange: K/V computed from the token's own hidden state
EVICTED = "#BBBBBB"      # light grey: dropped from the layer's cache after prefill

FULL_PREFILL = "#555555"  # the baseline in bar and line charts
SEMSHARE = "#009E73"      # bluish green: the SemShareKV run

# Sequential scales: dark on light, readable in print and by colour-blind readers.
DEVIATION_SCALE = "Viridis"
DISTANCE_SCALE = "Plasma"

# Recompute shading of the target text, as an RGB triple for rgba() backgrounds.
RECOMPUTED_RGB = (230, 159, 0)
