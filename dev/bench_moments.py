r"""CPU time of pgref.exact.estimator_covariance as S and dim θ grow (issue 14's ≤ 50 ms goal).

``python dev/bench_moments.py`` prints, for random episodic MDPs with A = 4 actions and
softmax-linear features of dim θ = n, the best CPU time (time.process_time) of 3 runs of each
estimator's exact covariance, with and without a v_π baseline, and of the optimal baseline.
"""

from __future__ import annotations

import time

import numpy as np

from pgref import envs, exact
from pgref.policies import SoftmaxLinearPolicy


def best_cpu_time(function, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    print("| S | dim θ | pg_v1 ms | reinforce ms | reinforce, v_π ms | optimal baseline ms |")
    print("|---|---|---|---|---|---|")
    for n_states, n_params in ((100, 8), (200, 8), (400, 8), (100, 16), (100, 32)):
        print(row(n_states, n_params))


def row(n_states: int, n_params: int) -> str:
    """One table row: the four CPU times, in ms, for one random MDP of S states."""
    rng = np.random.default_rng(0)
    problem = envs.random_mdp(rng, n_states, 4, gamma=1.0, n_terminal=1,
                              termination_prob=0.05, n_features=n_params)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    theta = rng.standard_normal(n_params)
    values = exact.state_values(mdp, policy.action_probs(theta))
    times = [best_cpu_time(lambda: exact.estimator_covariance(mdp, policy, theta, "pg_v1")),
             best_cpu_time(lambda: exact.estimator_covariance(mdp, policy, theta, "reinforce")),
             best_cpu_time(lambda: exact.estimator_covariance(mdp, policy, theta, "reinforce",
                                                              values)),
             best_cpu_time(lambda: exact.optimal_constant_baseline(mdp, policy, theta))]
    return f"| {n_states} | {n_params} | " + " | ".join(f"{1e3 * t:.1f}" for t in times) + " |"

if __name__ == "__main__":
    main()
