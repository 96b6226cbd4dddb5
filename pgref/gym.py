r"""pgref's tabular problems as real Gymnasium environments (the optional ``[gym]`` extra).

``import pgref.gym`` needs Gymnasium (``.venv/bin/python -m pip install -e ".[gym]"`` in the
repository, or ``python -m pip install "gymnasium>=1.0"``); ``import pgref`` never does. The import
registers one Gymnasium id per example problem of :mod:`pgref.envs`,

==========================  ==========================================  ======================
id                          problem                                     keyword arguments
==========================  ==========================================  ======================
``pgref/ShortCorridor-v0``  :func:`pgref.envs.short_corridor`           none
``pgref/Gridworld-v0``      :func:`pgref.envs.gridworld`                ``width``, ``slip``, …
``pgref/TwoStateChain-v0``  :func:`pgref.envs.two_state_chain`          ``gamma``
``pgref/Bandit-v0``         :func:`pgref.envs.bandit`                   ``means`` (1, 0.5, 0)
``pgref/RandomMDP-v0``      :func:`pgref.envs.random_mdp` of a seed     ``seed`` (0), ``n_states``
                                                                        (6), ``n_actions`` (3), …
``pgref/LayeredMDP-v0``     :func:`pgref.envs.layered_mdp` of a seed    ``seed`` (0), ``n_live``
                                                                        (3), ``n_actions`` (2), …
==========================  ==========================================  ======================

so that ``gymnasium.make("pgref/ShortCorridor-v0")`` works (keyword arguments of ``make`` go to
the problem's function), and :func:`make_env` wraps any :class:`~pgref.mdp.TabularMDP`. No id
carries a time limit: the lecture's episodes end when they reach a terminal state. Pass
``max_episode_steps=`` to ``gymnasium.make`` or wrap in ``gymnasium.wrappers.TimeLimit`` to
cut them.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "pgref.gym needs Gymnasium, pgref's optional [gym] extra: install it with "
        "`.venv/bin/python -m pip install -e \".[gym]\"` in the pgref repository (or "
        "`python -m pip install \"gymnasium>=1.0\"` into the environment you use); "
        "`import pgref` itself works without it",
        name=error.name,
    ) from error

from pgref import envs
from pgref.mdp import TabularEnv, TabularMDP

__all__ = ["PROBLEM_IDS", "RENDER_MODES", "TABULAR_ID", "TabularGymEnv", "make_env",
           "problem_env"]

RENDER_MODES = ("ansi",)
"""The render modes :class:`TabularGymEnv` supports: ``"ansi"``, a text picture of the state."""


class TabularGymEnv(gymnasium.Env):
    r"""A ``gymnasium.Env`` that samples episodes of a :class:`~pgref.mdp.TabularMDP`.

    Parameters
    ----------
    mdp : TabularMDP
    action_names : sequence of str, optional
        ``action_names[a]`` names action a in :meth:`render`; default "0", "1", ….
    positions : array_like of int, shape (S, 2), optional
        The grid cell (x, y) of each state, for a picture of the grid in :meth:`render` (as in
        :attr:`pgref.envs.Example.positions`); without it :meth:`render` names the state.
    render_mode : {None, "ansi"}

    Attributes
    ----------
    observation_space : gymnasium.spaces.Discrete
        The S states, terminal ones included; an observation is the state index Sₜ.
    action_space : gymnasium.spaces.Discrete
        The A actions.
    tabular : TabularEnv
        The dependency-free environment that does the sampling, drawing from this
        environment's ``np_random``.

    Notes
    -----
    One episode is a draw from the lecture's trajectory distribution ("Finding Loss: Estimating
    Form"), p_π(τ) = p(s₀) ∏ₜ π_θ(aₜ|sₜ) p(sₜ₊₁, rₜ₊₁ | sₜ, aₜ): ``reset`` draws
    S₀ ∼ p(s₀), ``step(Aₜ)`` draws Sₜ₊₁ ∼ p(·|Sₜ, Aₜ) and returns Rₜ₊₁, exactly as
    :class:`~pgref.mdp.TabularEnv` does — the same seed gives the same episode in both.
    ``terminated`` is True when Sₜ₊₁ is terminal; ``truncated`` is never set here (a
    ``gymnasium.wrappers.TimeLimit`` sets it). γ is the MDP's, left to whoever sums returns.
    """

    metadata: ClassVar[dict] = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, mdp: TabularMDP, *, action_names=None, positions=None,
                 render_mode: str | None = None):
        self.tabular = TabularEnv(mdp)
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be None or one of {list(RENDER_MODES)}; "
                             f"got {render_mode!r}")
        self.render_mode = render_mode
        self.action_names = _checked_action_names(action_names, mdp.n_actions)
        self.positions = _checked_positions(positions, mdp.n_states)
        self.observation_space = spaces.Discrete(mdp.n_states)
        self.action_space = spaces.Discrete(mdp.n_actions)
        self.last_step: tuple[int, float] | None = None  # (Aₜ, Rₜ₊₁) of the latest step

    @property
    def mdp(self) -> TabularMDP:
        """The MDP this environment samples."""
        return self.tabular.mdp

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[int, dict]:
        r"""Start an episode, S₀ ∼ p(s₀); Gymnasium's ``reset``.

        Parameters
        ----------
        seed : int ≥ 0, optional
            Reseeds ``np_random`` (Gymnasium's rule); without it the current generator goes on.
        options : dict, optional
            None or empty: no reset options are defined, and a key is refused.

        Returns
        -------
        (observation, info)
            (S₀, ``{"t": 0}``), as :meth:`pgref.mdp.TabularEnv.reset`.
        """
        super().reset(seed=seed)
        self.tabular.rng = self.np_random
        self.last_step = None
        return self.tabular.reset(options=options)

    def step(self, action) -> tuple[int, float, bool, bool, dict]:
        r"""Take Aₜ = ``action``: (Sₜ₊₁, Rₜ₊₁, terminated, truncated, ``{"t": t + 1}``).

        Raises
        ------
        ValueError
            For an action outside [0, A), or a step with no episode running.
        """
        observation, reward, terminated, truncated, info = self.tabular.step(action)
        self.last_step = (int(action), reward)
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        r"""The ``"ansi"`` picture: the grid with the agent ``A`` and terminal cells ``G``.

        Returns
        -------
        str or None
            With ``render_mode="ansi"``: one line per grid row, top row first, ``A`` the
            current state, ``G`` a terminal state, ``.`` any other state (or one line naming the
            state where there are no positions), then a line with t, the last action and
            reward. None without a render mode, as in Gymnasium.
        """
        if self.render_mode is None:
            return None
        state, t = self.tabular.state, self.tabular.t
        if state is None:
            return "no episode yet: call reset()\n"
        lines = [] if self.positions is None else self._grid_lines(state)
        where = f"state {state}" + (" (terminal)" if self.mdp.terminal[state] else "")
        if self.last_step is None:
            lines.append(f"t = {t}  {where}")
        else:
            action, reward = self.last_step
            lines.append(f"t = {t}  {where}  after {self.action_names[action]}, "
                         f"reward {reward:g}")
        return "\n".join(lines) + "\n"

    def _grid_lines(self, state: int) -> list[str]:
        x, y = self.positions.T
        cells = np.full((y.max() + 1, x.max() + 1), " ")
        cells[y, x] = np.where(self.mdp.terminal, "G", ".")
        cells[y[state], x[state]] = "A"
        return [" ".join(row) for row in cells[::-1]]


def _checked_action_names(action_names, n_actions: int) -> tuple[str, ...]:
    if action_names is None:
        return tuple(str(a) for a in range(n_actions))
    names = tuple(action_names)
    if len(names) != n_actions or not all(isinstance(name, str) for name in names):
        raise ValueError(f"action_names must be {n_actions} strings, one per action; "
                         f"got {action_names!r}")
    return names


def _checked_positions(positions, n_states: int) -> np.ndarray | None:
    if positions is None:
        return None
    array = np.asarray(positions)
    if (array.shape != (n_states, 2) or not np.all(np.isfinite(array))
            or np.any(array < 0) or np.any(array != np.round(array))):
        raise ValueError(
            f"positions must be the grid cells (x, y) of the {n_states} states: non-negative "
            f"integers, shape ({n_states}, 2); got {positions!r}"
        )
    return array.astype(int)


def make_env(mdp: TabularMDP, *, action_names=None, positions=None,
             render_mode: str | None = None) -> TabularGymEnv:
    r"""Wrap any :class:`~pgref.mdp.TabularMDP` as a ``gymnasium.Env``.

    Parameters
    ----------
    mdp : TabularMDP
    action_names : sequence of str, optional
        For :meth:`TabularGymEnv.render`.
    positions : array_like of int, shape (S, 2), optional
        Grid cells (x, y) of the states, for :meth:`TabularGymEnv.render`.
    render_mode : {None, "ansi"}

    Returns
    -------
    TabularGymEnv
        With ``Discrete(S)`` observations and ``Discrete(A)`` actions, and the spec of
        :data:`TABULAR_ID` with these arguments, so ``env.spec.make()`` builds it again (as
        ``gymnasium.make(TABULAR_ID, mdp=mdp)`` does, with Gymnasium's checking wrappers around
        it). Wrap it in ``gymnasium.wrappers.TimeLimit`` to cut long episodes.

    Raises
    ------
    ValueError
        If ``mdp`` is not a TabularMDP, or for a bad ``render_mode``, ``action_names`` or
        ``positions``.

    Notes
    -----
    Samples p_π(τ) = p(s₀) ∏ₜ π_θ(aₜ|sₜ) p(sₜ₊₁, rₜ₊₁ | sₜ, aₜ) (lecture: "Finding Loss:
    Estimating Form"), one step per ``step`` call; see :class:`TabularGymEnv`.
    """
    arguments = {"mdp": mdp, "action_names": action_names, "positions": positions}
    env = TabularGymEnv(**arguments, render_mode=render_mode)
    env.spec = dataclasses.replace(gymnasium.spec(TABULAR_ID), kwargs=arguments)
    return env


def _random_problem(seed: int = 0, n_states: int = 6, n_actions: int = 3, *,
                    n_terminal: int = 1, **options) -> envs.Example:
    """:func:`pgref.envs.random_mdp` drawn with ``np.random.default_rng(seed)``."""
    return envs.random_mdp(np.random.default_rng(seed), n_states, n_actions,
                           n_terminal=n_terminal, **options)


def _layered_problem(seed: int = 0, n_live: int = 3, n_actions: int = 2,
                     **options) -> envs.Example:
    """:func:`pgref.envs.layered_mdp` drawn with ``np.random.default_rng(seed)``."""
    return envs.layered_mdp(np.random.default_rng(seed), n_live, n_actions, **options)


# Gymnasium id → (the function building the pgref.envs.Example, default keyword arguments).
_PROBLEMS = {
    "pgref/ShortCorridor-v0": (envs.short_corridor, {}),
    "pgref/Gridworld-v0": (envs.gridworld, {}),
    "pgref/TwoStateChain-v0": (envs.two_state_chain, {}),
    "pgref/Bandit-v0": (envs.bandit, {"means": [1.0, 0.5, 0.0]}),
    "pgref/RandomMDP-v0": (_random_problem, {}),
    "pgref/LayeredMDP-v0": (_layered_problem, {}),
}

PROBLEM_IDS = tuple(_PROBLEMS)
"""The Gymnasium ids ``import pgref.gym`` registers, one per example problem in pgref.envs."""

TABULAR_ID = "pgref/TabularMDP-v0"
"""The Gymnasium id of any TabularMDP: ``gymnasium.make(TABULAR_ID, mdp=mdp)``."""


def problem_env(env_id: str, render_mode: str | None = None, **kwargs) -> TabularGymEnv:
    r"""The environment of a registered id: the entry point ``gymnasium.make`` calls.

    Parameters
    ----------
    env_id : str
        One of :data:`PROBLEM_IDS`, e.g. ``"pgref/ShortCorridor-v0"``.
    render_mode : {None, "ansi"}
    **kwargs
        Keyword arguments of the problem's function in :mod:`pgref.envs` (for
        ``pgref/RandomMDP-v0``: ``seed``, ``n_states``, ``n_actions`` and those of
        :func:`pgref.envs.random_mdp`).

    Returns
    -------
    TabularGymEnv
        Over the problem's MDP, with its action names and grid positions for rendering.
    """
    if env_id not in _PROBLEMS:
        raise ValueError(f"env_id must be one of {list(PROBLEM_IDS)}; got {env_id!r}")
    build, defaults = _PROBLEMS[env_id]
    problem = build(**(defaults | kwargs))
    return TabularGymEnv(problem.mdp, action_names=problem.action_names,
                         positions=problem.positions, render_mode=render_mode)


if TABULAR_ID not in gymnasium.registry:
    gymnasium.register(TABULAR_ID, entry_point="pgref.gym:TabularGymEnv")
for _env_id in PROBLEM_IDS:
    if _env_id not in gymnasium.registry:
        gymnasium.register(_env_id, entry_point="pgref.gym:problem_env",
                           kwargs={"env_id": _env_id})
