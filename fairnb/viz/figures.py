"""Figure helpers shared by both papers' figures."""

from __future__ import annotations


def placeholder_figure(message: str):
    """A small figure that only says ``message``: a page keeps its figure slots when data is absent
    (e.g. a user-supplied data set that is not there). Closed before it is returned, so it is shown
    through ``glue`` only."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    plt.close(fig)
    return fig
