r"""Calibrate the REINFORCE-on-LQR z-tests of tests/test_learning_lqr.py over fresh seeds.

``python dev/calibrate_lqr_z.py N`` draws N fresh batches (seeds 1000 … 1000 + N − 1) of each
test case, computes z = (mean − ∇J) / SE per component as the test does, and prints the fraction
of |z| beyond 3, 3.5, 4 and 4.5 against the normal tail 2Φ(−x) at each, and the batch-means
t statistic's fractions likewise.
"""

from __future__ import annotations

import statistics
import sys

import numpy as np

from pgref import algorithms as alg
from pgref import estimators, lqr


def cases():
    particle = lqr.moving_particle(dim=1, gamma=0.8, initial_cov=[[0.0]])
    coupled = lqr.LinearQuadraticProblem(
        A=[[1.0, 0.1], [-0.2, 0.9]], B=[[0.5, 0.0], [0.2, 1.0]],
        Q=[[1.0, 0.3], [0.3, 0.5]], R=[[0.2, -0.05], [-0.05, 0.1]],
        gamma=0.8, initial_mean=[1.0, -0.5], initial_cov=np.zeros((2, 2)))
    yield particle, [[-0.8]], "variance"
    yield coupled, [[-0.5, 0.1], [0.1, -0.4]], "log_variance"


def main(n_seeds: int) -> None:
    normal = statistics.NormalDist()
    limits = (3.0, 3.5, 4.0, 4.5)
    for problem, gain, parametrisation in cases():
        policy = lqr.linear_gaussian_policy(problem, variance=0.3, learn_variance=True,
                                            variance_parameter=parametrisation)
        theta = lqr.theta_for_gain(policy, gain, 0.3)
        exact_gradient = lqr.policy_gradient(problem, policy, theta)
        J = lqr.objective(problem, policy, theta)
        sampler = alg.lqr_sampler(problem, policy, horizon=80)
        zs = {None: [], "J": []}
        for seed in range(1000, 1000 + n_seeds):
            episodes = sampler.sample(theta, 4000, np.random.default_rng(seed))
            for key, baseline in ((None, None), ("J", J)):
                estimate = estimators.reinforce(policy, theta, episodes, problem.gamma,
                                                baseline, allow_truncated=True)
                zs[key].append((estimate.mean - exact_gradient) / estimate.standard_error())
        for key, values in zs.items():
            z = np.abs(np.concatenate(values))
            row = ", ".join(f"|z|>{x}: {np.mean(z > x):.2e} (normal {2 * normal.cdf(-x):.1e})"
                            for x in limits)
            print(f"{parametrisation}, baseline {key}: n = {z.size}; {row}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
