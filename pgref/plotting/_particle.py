r"""Figure 8: the continuous moving particle under a learned linear-Gaussian policy."""

from __future__ import annotations

from matplotlib.figure import Figure

from pgref.plotting._base import EXACT_COLOUR, new_figure, number, styled

_ENTRY_STYLE = {  # (i, j) of K → colour, label
    (0, 0): ("tab:blue", "K₁₁"),
    (1, 1): ("tab:cyan", "K₂₂"),
    (0, 1): ("tab:orange", "K₁₂"),
    (1, 0): ("tab:brown", "K₂₁"),
}


@styled
def draw_particle(data) -> Figure:
    """Paths before and after learning; K and σ² over the updates against K* and 0."""
    figure, (paths, gain, variance) = new_figure(3, width=4.8, height=4.8)
    for path in data.initial_paths:
        paths.plot(path[:, 0], path[:, 1], color="grey", alpha=0.5, linewidth=0.8)
    for path in data.learned_paths:
        paths.plot(path[:, 0], path[:, 1], color="tab:blue", alpha=0.8, linewidth=1.0)
    paths.plot(data.learned_paths[:, 0, 0], data.learned_paths[:, 0, 1], "o", color="tab:blue",
               markersize=3)
    paths.plot(data.initial_paths[:, 0, 0], data.initial_paths[:, 0, 1], "o", color="grey",
               markersize=3)
    initial_gain = "0" if not data.exact_gain[0].any() else "K₀"
    paths.plot([], [], color="grey",
               label=f"θ₀: K = {initial_gain}, σ² = {data.exact_variance[0]:g}")
    paths.plot([], [], color="tab:blue", label="learned θ (seed 0)")
    paths.plot(0, 0, "*", color="tab:red", markersize=12, label="origin (reward 0)")
    paths.set(aspect="equal", xlabel="position s₁", ylabel="position s₂",
              title=f"Paths Sₜ, t < {data.learned_paths.shape[1]} (dots: S₀)")
    paths.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8)

    mean_gain = data.gain.mean(axis=0)  # over seeds, (U + 1, 2, 2)
    for (i, j), (colour, name) in _ENTRY_STYLE.items():
        gain.plot(data.updates, mean_gain[:, i, j], color=colour, label=f"{name} REINFORCE")
    gain.plot(data.updates, data.exact_gain[:, 0, 0], color=EXACT_COLOUR, linestyle="--",
              label="K₁₁ = K₂₂, exact ascent")
    gain.plot(data.updates, data.exact_gain[:, 0, 1], color=EXACT_COLOUR, linestyle="-.",
              label="K₁₂ = K₂₁, exact ascent")
    gain.axhline(data.optimal_gain[0, 0], color="tab:red", linewidth=1.0,
                 label=f"K*₁₁ = K*₂₂ = {number(data.optimal_gain[0, 0])}; K*₁₂ = K*₂₁ = 0")
    gain.axhline(0.0, color="tab:red", linewidth=1.0)
    gain.set(xlabel=f"update ({data.batch_size} episodes per update)",
             ylabel="gain entry (mean action a = K s)",
             title=f"Gain K = Θᵀ (mean over {len(data.seeds)} seeds)")
    gain.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8)

    spread = (data.variance.min(axis=0), data.variance.max(axis=0))
    variance.fill_between(data.updates, *spread, color="tab:blue", alpha=0.15, linewidth=0)
    variance.plot(data.updates, data.variance.mean(axis=0), color="tab:blue",
                  label=f"REINFORCE (mean, range over {len(data.seeds)} seeds)")
    variance.plot(data.updates, data.exact_variance, color=EXACT_COLOUR, linestyle="--",
                  label="exact ascent")
    variance.axhline(0.0, color="tab:red", linewidth=1.0, label="optimal σ² → 0 (a = K*s)")
    variance.set(xlabel=f"update (α = {data.alpha:g})", ylabel="σ² (variance, not σ)",
                 title="Policy variance σ² (learned as log σ²)")
    variance.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8)
    return figure
