r"""Finite MDPs p(s′, r | s, a) as arrays, and a Gymnasium-style episodic environment over them.

A :class:`TabularMDP` holds the dynamics of the lecture's trajectory distribution
(lecture: "Finding Loss: Estimating Form"),

    p_π(τ) = p(s₀) ∏ₜ π_θ(aₜ|sₜ) p(sₜ₊₁, rₜ₊₁ | sₜ, aₜ),

as a transition array ``transitions[s, a, s′]``, an expected-reward array ``rewards[s, a]`` (or a
per-transition ``rewards[s, a, s′]``), the start distribution ``initial[s]`` = p(s₀), a discount γ
and a boolean mask of terminal states. It is checked once, when built, and cannot be changed.
:class:`TabularEnv` samples episodes S₀, A₀ → R₁, S₁, … from it one step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgref import checks
from pgref.policies.interface import TabularPolicy

__all__ = ["PROBABILITY_TOLERANCE", "TabularEnv", "TabularMDP"]

PROBABILITY_TOLERANCE = checks.PROBABILITY_TOLERANCE
"""How far a probability distribution's sum may be from 1 (absolute) before it is refused."""


@dataclass(frozen=True, eq=False)
class TabularMDP:
    r"""A finite MDP with S states and A actions, validated once and read-only.

    Parameters
    ----------
    transitions : array_like, shape (S, A, S)
        p(s′ | s, a): ``transitions[s, a]`` is a probability distribution over next states.
    rewards : array_like, shape (S, A) or (S, A, S)
        The expected reward r(s, a) = E[Rₜ₊₁ | Sₜ = s, Aₜ = a], or the reward r(s, a, s′) of each
        transition. See :attr:`expected_rewards` for the (S, A) form of both.
    initial : array_like, shape (S,)
        p(s₀), the distribution of S₀. It may not put mass on terminal states.
    gamma : float, default 1.0
        The discount γ ∈ [0, 1]. γ = 1 is the lecture's undiscounted episodic setting.
    terminal : array_like of bool, shape (S,), optional
        ``terminal[s]`` is True when s ends the episode. Default: no terminal states.

    Raises
    ------
    ValueError
        On a shape mismatch, NaN or ±inf anywhere, a negative probability, a row of
        ``transitions`` or ``initial`` that does not sum to 1 (within
        :data:`PROBABILITY_TOLERANCE`), γ outside [0, 1], a ``terminal`` that is not a boolean
        mask of shape (S,), a terminal state that is not absorbing or has a non-zero reward,
        or an ``initial`` that puts mass on a terminal state. Nothing is repaired.

    Notes
    -----
    Terminal states are absorbing with zero reward, p(s | s, a) = 1 and r(s, a) = 0 for every
    action, so their value is 0 and the exact solvers work on the non-terminal block. The
    constructor checks this rather than rewriting the rows, so an MDP means what its arrays say.

    Time indexing (lecture: "Training Policy Network"): S₀, A₀ → R₁, S₁, A₁ → R₂, …; the
    reward of the step taken in Sₜ is Rₜ₊₁.

    The instance is frozen and its arrays are read-only copies; equality is identity
    (arrays have no single truth value).
    """

    transitions: np.ndarray
    rewards: np.ndarray
    initial: np.ndarray
    gamma: float = 1.0
    terminal: np.ndarray | None = None

    def __post_init__(self) -> None:
        transitions = checks.finite_array("transitions", self.transitions, ndim=3)
        n_states, n_actions = transitions.shape[:2]
        if transitions.shape != (n_states, n_actions, n_states) or min(transitions.shape) == 0:
            raise ValueError(
                "transitions must have shape (S, A, S) with S, A ≥ 1 (transitions[s, a, s′] = "
                f"p(s′|s, a)); got shape {transitions.shape}"
            )
        checks.probability_rows("transitions", transitions, "(s, a)")

        rewards = checks.finite_array("rewards", self.rewards, ndim=(2, 3))
        if rewards.shape not in ((n_states, n_actions), (n_states, n_actions, n_states)):
            raise ValueError(
                f"rewards must have shape (S, A) = {(n_states, n_actions)} or (S, A, S) = "
                f"{(n_states, n_actions, n_states)} to match transitions; got {rewards.shape}"
            )

        initial = checks.finite_array("initial", self.initial, ndim=1)
        if initial.shape != (n_states,):
            raise ValueError(
                f"initial must have shape (S,) = ({n_states},) to match transitions; "
                f"got {initial.shape}"
            )
        checks.probability_rows("initial", initial, "")

        gamma = checks.finite_scalar("gamma", self.gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1] (a discount factor); got {gamma!r}")

        terminal = self._terminal_mask(n_states)
        self._check_terminal_states(transitions, rewards, initial, terminal)

        for name, value in (("transitions", transitions), ("rewards", rewards),
                            ("initial", initial), ("terminal", terminal)):
            value = np.array(value, copy=True)
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "gamma", gamma)

    def _terminal_mask(self, n_states: int) -> np.ndarray:
        if self.terminal is None:
            return np.zeros(n_states, dtype=bool)
        mask = np.asarray(self.terminal)
        if mask.dtype != bool:
            raise ValueError(
                "terminal must be a boolean mask of shape (S,) (True where the episode ends), "
                f"not indices or numbers; got dtype {mask.dtype}: {mask!r}"
            )
        if mask.shape != (n_states,):
            raise ValueError(
                f"terminal must be a boolean mask of shape (S,) = ({n_states},); "
                f"got shape {mask.shape}"
            )
        return mask

    @staticmethod
    def _check_terminal_states(transitions, rewards, initial, terminal) -> None:
        states = np.flatnonzero(terminal)
        stay = transitions[states, :, states]  # p(s | s, a) for terminal s, shape (T, A)
        leaking = states[np.any(stay < 1.0 - PROBABILITY_TOLERANCE, axis=1)]
        if leaking.size:
            raise ValueError(
                f"terminal states must be absorbing, transitions[s, a, s] = 1 for every a; "
                f"terminal state(s) {leaking.tolist()} can be left. Make those rows self-loops, "
                "or do not mark them terminal"
            )
        paying = states[np.any(rewards[states] != 0, axis=tuple(range(1, rewards.ndim)))]
        if paying.size:
            raise ValueError(
                f"rewards must be 0 in terminal states (they are absorbing with value 0); "
                f"terminal state(s) {paying.tolist()} have non-zero rewards. Put a reward for "
                "ending the episode on the transition into the terminal state instead"
            )
        mass = float(initial[states].sum())
        if mass > 0:
            raise ValueError(
                f"initial must put no probability on terminal states (an episode starts in a "
                f"non-terminal state); it puts {mass!r} on {states[initial[states] > 0].tolist()}"
            )

    @property
    def n_states(self) -> int:
        """S, the number of states (terminal ones included)."""
        return self.transitions.shape[0]

    @property
    def n_actions(self) -> int:
        """A, the number of actions (the same in every state)."""
        return self.transitions.shape[1]

    @property
    def nonterminal(self) -> np.ndarray:
        """Boolean mask (S,), True for the states in which the agent acts."""
        return ~self.terminal

    @property
    def expected_rewards(self) -> np.ndarray:
        r"""r(s, a) = E[Rₜ₊₁ | Sₜ = s, Aₜ = a], shape (S, A).

        Notes
        -----
        For per-transition rewards, r(s, a) = Σ_s′ p(s′|s, a) r(s, a, s′); otherwise the
        ``rewards`` array itself (lecture: the ℛ(s₀, a₀) of the Bellman expansion in
        "Policy Gradient Theorem").
        """
        if self.rewards.ndim == 2:
            return self.rewards
        return np.einsum("saz,saz->sa", self.transitions, self.rewards)

    def __deepcopy__(self, memo) -> TabularMDP:
        """The MDP itself: it cannot change, so a copy (as ``gymnasium.make`` takes of its
        arguments) needs no new arrays, and its arrays stay read-only."""
        return self

    def policy_table(self, policy, theta) -> np.ndarray:
        r"""π_θ(a|s) for every state and action of this MDP, shape (S, A), after checking that
        ``policy`` is a tabular policy over these S states and A actions and θ its parameters.

        Raises
        ------
        ValueError
            For a policy that is not a :class:`pgref.policies.TabularPolicy` with tabular
            features, one of another (S, A), or a θ of the wrong length or with NaN/inf.
        """
        if not isinstance(policy, TabularPolicy) or policy.n_states is None:
            raise ValueError(
                "policy must be a discrete policy over tabular states (a pgref.policies."
                "TabularPolicy with action_probs(theta) of shape (S, A)), e.g. "
                f"SoftmaxLinearPolicy(features); got {type(policy).__name__}"
            )
        if (policy.n_states, policy.n_actions) != (self.n_states, self.n_actions):
            raise ValueError(
                f"policy must act on the mdp's (S, A) = {(self.n_states, self.n_actions)}; its "
                f"features give (S, A) = {(policy.n_states, policy.n_actions)}"
            )
        return policy.action_probs(checks.parameter_vector(theta, policy.n_params))

    # -- the problem interface (pgref.problems.ExactProblem) ---------------------------------
    # rollout and exact import this module, so they are imported where they are used.

    def sample_episodes(self, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int | None = None):
        r"""K episodes under π_θ, all stepped at once: :func:`pgref.rollout.sample_episodes`.

        ``max_steps`` None means :data:`pgref.rollout.DEFAULT_MAX_STEPS`.
        """
        from pgref.rollout import DEFAULT_MAX_STEPS, sample_episodes

        return sample_episodes(self, policy, theta, n_episodes, rng,
                               DEFAULT_MAX_STEPS if max_steps is None else max_steps)

    def objective(self, policy, theta) -> float:
        r"""𝒥(θ) = Σₛ p(s₀) v_π(s₀) by a linear solve: :func:`pgref.exact.objective`."""
        from pgref.exact import objective

        return objective(self, policy, theta)

    def policy_gradient(self, policy, theta) -> np.ndarray:
        r"""∇𝒥(θ) by the policy gradient theorem: :func:`pgref.exact.policy_gradient`."""
        from pgref.exact import policy_gradient

        return policy_gradient(self, policy, theta)


class TabularEnv:
    r"""An episodic, Gymnasium-style environment that samples a :class:`TabularMDP`.

    Parameters
    ----------
    mdp : TabularMDP
    rng : numpy.random.Generator, optional
        The generator used until :meth:`reset` is given a ``seed``. Without it, the first
        :meth:`reset` without a seed draws a fresh generator from the operating system's
        entropy, as Gymnasium does; pass a ``seed`` (or ``rng``) for a reproducible run.
    max_steps : int, optional
        Cut episodes after this many steps, marking them ``truncated`` (never ``terminated``).
        Default: no limit, which suits MDPs whose episodes end with probability 1.

    Attributes
    ----------
    rng : numpy.random.Generator or None
        The generator every draw uses (None before the first :meth:`reset` when built without
        one). :class:`pgref.gym.TabularGymEnv` sets it to Gymnasium's ``np_random``.
    state : int or None
        Sₜ, the current state.
    t : int
        The number of steps taken in the current episode.

    Notes
    -----
    ``reset`` draws S₀ ∼ p(s₀); ``step(Aₜ)`` draws Sₜ₊₁ ∼ p(·|Sₜ, Aₜ) and returns Rₜ₊₁: the
    reward r(Sₜ, Aₜ, Sₜ₊₁) for per-transition rewards, and the expected reward r(Sₜ, Aₜ) for
    (S, A) rewards (the MDP holds no reward noise). Observations are state indices. The
    discount γ is not a stopping probability here: it is left to whoever sums the returns.

    The API is Gymnasium's ``Env`` (``reset(seed=None, options=None)`` → (observation, info),
    ``step(action)`` → (observation, reward, terminated, truncated, info), ``close()``) without
    depending on it; :func:`pgref.gym.make_env` (the optional ``[gym]`` extra) wraps the same
    sampling in a real ``gymnasium.Env`` with ``Discrete`` spaces.
    """

    def __init__(self, mdp: TabularMDP, rng: np.random.Generator | None = None,
                 max_steps: int | None = None):
        if not isinstance(mdp, TabularMDP):
            raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
        self.mdp = mdp
        self.rng = None if rng is None else checks.rng_generator(rng)
        if max_steps is not None:
            max_steps = checks.positive_int("max_steps", max_steps)
        self.max_steps = max_steps
        self.state: int | None = None
        self.t = 0
        self._done = True

    @property
    def n_states(self) -> int:
        """S, the size of the observation space."""
        return self.mdp.n_states

    @property
    def n_actions(self) -> int:
        """A, the size of the action space."""
        return self.mdp.n_actions

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        r"""Start an episode: S₀ ∼ p(s₀).

        Parameters
        ----------
        seed : int ≥ 0, optional
            If given, the environment switches to a fresh ``np.random.default_rng(seed)``;
            otherwise it keeps using its current generator (and, if it has none yet, draws one
            from the operating system's entropy, as Gymnasium does).
        options : dict, optional
            Gymnasium's per-reset options. This environment defines none: None or an empty
            dict; any key is refused rather than ignored.

        Returns
        -------
        observation : int
            S₀.
        info : dict
            ``{"t": 0}``.
        """
        if seed is not None:
            self.rng = np.random.default_rng(checks.positive_int("seed", seed, minimum=0))
        elif self.rng is None:
            self.rng = np.random.default_rng()
        if options:
            raise ValueError(
                "options must be None or an empty dict: a tabular environment defines no "
                f"reset options; got keys {sorted(options)!r}"
            )
        self.state = int(self.rng.choice(self.n_states, p=self.mdp.initial))
        self.t = 0
        self._done = False
        return self.state, {"t": 0}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        r"""Take Aₜ = ``action`` in Sₜ.

        Parameters
        ----------
        action : int
            An action index in [0, A) (a Python or NumPy integer).

        Returns
        -------
        observation : int
            Sₜ₊₁.
        reward : float
            Rₜ₊₁.
        terminated : bool
            Whether Sₜ₊₁ is terminal.
        truncated : bool
            Whether the episode was cut at ``max_steps`` in a non-terminal state.
        info : dict
            ``{"t": t + 1}``.
        """
        if self._done:
            raise ValueError(
                "step called with no episode running; call reset() first (and again after "
                "terminated or truncated)"
            )
        action_index = checks.index_array("action", action, self.n_actions)
        if action_index.ndim != 0:
            raise ValueError(f"action must be a single action index; got shape "
                             f"{action_index.shape}")
        state, action = self.state, int(action_index)
        next_state = int(self.rng.choice(self.n_states, p=self.mdp.transitions[state, action]))
        if self.mdp.rewards.ndim == 2:
            reward = self.mdp.rewards[state, action]
        else:
            reward = self.mdp.rewards[state, action, next_state]
        self.state = next_state
        self.t += 1
        terminated = bool(self.mdp.terminal[next_state])
        truncated = (not terminated and self.max_steps is not None
                     and self.t >= self.max_steps)
        self._done = terminated or truncated
        return next_state, float(reward), terminated, truncated, {"t": self.t}

    def close(self) -> None:
        """Gymnasium's ``close``: nothing to release (kept so code written for Gymnasium runs)."""
