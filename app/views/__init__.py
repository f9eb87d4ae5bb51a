"""One module per result view. Each has `render(result)` and pure figure builders."""
