"""Write figures/sutton_barto_13_1.png and sutton_barto_13_2.png (Sutton & Barto 13.1, 13.2).

Until the figures command registers :mod:`pgref.figures.sutton_barto`, run
``python scripts/sutton_barto_figures.py [--quick]`` from the repository root.
"""

import sys
import time
from pathlib import Path

from matplotlib.figure import Figure

from pgref.figures import sutton_barto

OUT = Path(__file__).resolve().parent.parent / "figures"

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for name, compute in (("sutton_barto_13_1", sutton_barto.figure_13_1_data),
                          ("sutton_barto_13_2", sutton_barto.figure_13_2_data)):
        start = time.process_time()
        data = compute(quick)
        seconds = time.process_time() - start
        figure = Figure(figsize=(7.5, 4.8), layout="constrained", dpi=100)
        sutton_barto.draw(data, figure)
        figure.savefig(OUT / f"{name}.png", metadata={"Software": None})
        print(f"{name}: data in {seconds:.1f} s CPU, stopped runs {data.n_stopped.tolist()}",
              file=sys.stderr)
