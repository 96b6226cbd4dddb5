"""Write figures/sutton_barto_13_1.png and sutton_barto_13_2.png (Sutton & Barto 13.1, 13.2).

Until the figures command registers ``pgref.figures.sutton_barto.FIGURE_13_1`` and
``FIGURE_13_2``, run ``python scripts/sutton_barto_figures.py [--quick]`` from the repository
root. It draws and saves exactly as ``pgref.figures.generate`` does (pgref's style, the Agg
canvas, no Software metadata), and prints the CPU time of each figure's data.
"""

import sys
import time

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgref.figures import DEFAULT_DIRECTORY, common, sutton_barto

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for spec in (sutton_barto.FIGURE_13_1, sutton_barto.FIGURE_13_2):
        start = time.process_time()
        data = spec.data(quick)
        seconds = time.process_time() - start
        with matplotlib.rc_context(common.STYLE):
            figure = Figure(figsize=spec.size, layout="constrained")
            spec.draw(data, figure)
        FigureCanvasAgg(figure)
        figure.savefig(DEFAULT_DIRECTORY / f"{spec.name}.png", format="png",
                       metadata={"Software": None})
        print(f"{spec.name}: data in {seconds:.1f} s CPU, stopped runs "
              f"{data.n_stopped.tolist()}", file=sys.stderr)
