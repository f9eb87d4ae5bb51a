"""Colours shared by every view, so that one state has one colour everywhere.

The three cache states use the Okabe-Ito palette, which stays distinguishable under
the common forms of colour blindness.
"""

from plotly.colors import sample_colorscale

# The Okabe-Ito palette. .streamlit/config.toml uses the same list for chart series without their own colour.
OKABE_ITO = {
    "blue": "#0072B2", "orange": "#E69F00", "bluish green": "#009E73", "vermillion": "#D55E00",
    "sky blue": "#56B4E9", "reddish purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
}

REUSED = "#0072B2"       # blue: K/V taken from the rearranged reference cache
RECOMPUTED = "#E69F00"   # orange: K/V computed from the token's own hidden state
EVICTED = "#BBBBBB"      # light grey: dropped from the layer's cache after prefill

# The two prompts, where a figure shows both (embedding map, alignment).
REFERENCE_PROMPT = "#56B4E9"  # sky blue
TARGET_PROMPT = "#D55E00"     # vermillion

FULL_PREFILL = "#555555"  # the baseline in bar and line charts
SEMSHARE = "#009E73"      # bluish green: the SemShareKV run

# Sequential scales that stay readable in grey and for colour-blind readers.
DEVIATION_SCALE = "Viridis"
# Plasma without its palest tenth, so thin lines of the largest distances stay visible on white.
DISTANCE_SCALE = [[index / 10, color] for index, color in
                  enumerate(sample_colorscale("Plasma", [0.9 * step / 10 for step in range(11)]))]

# Horizontal legend between the title and the plot, left-aligned so that it clears the mode bar.
# Figures that use it need a top margin of about 80 px.
TOP_LEFT_LEGEND = dict(orientation="h", x=0.0, xanchor="left", y=1.0, yanchor="bottom")

# Recompute shading of the target text, as an RGB triple for rgba() backgrounds.
RECOMPUTED_RGB = (230, 159, 0)
