r"""The lecture's deep policy network (DPN): a tanh MLP from x(s) to action logits, softmax out.

Backpropagation for ∇ log π is written out by hand over a flat θ (lecture: "Example: DPN").
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.features import StateFeatures
from pgref.policies.discrete import EPS, DiscretePolicy, log_softmax

__all__ = ["Layer", "MLPSoftmaxPolicy"]


class Layer(NamedTuple):
    """One affine layer z = h W + b: ``weights`` (n_in, n_out), ``bias`` (n_out,)."""

    weights: np.ndarray
    bias: np.ndarray


class MLPSoftmaxPolicy(DiscretePolicy):
    r"""Softmax over the logits of a tanh multi-layer perceptron of the state features.

    Parameters
    ----------
    features : array_like of shape (S, J), or callable
        State features x(s): a table indexed by integer state, or ``f(states) -> (N, J)``
        (then ``n_features`` is required).
    n_actions : int
        A, the number of logits.
    hidden_sizes : sequence of int, default (16,)
        Widths H₁, …, H_L of the tanh hidden layers; ``()`` gives a linear-softmax policy
        with one weight vector and bias per action.
    n_features : int, optional
        J, for callable features.

    Attributes
    ----------
    layer_shapes : list of (n_in, n_out)
        (J, H₁), (H₁, H₂), …, (H_L, A).
    n_params : int
        Σ_l (n_in + 1)·n_out; θ = [W₁ row-major, b₁, W₂, b₂, …] (see :meth:`unpack`).

    Notes
    -----
    Forward pass, with h₀ = x(s):

        hₗ = tanh(hₗ₋₁ Wₗ + bₗ)   for l = 1 … L,      z = h_L W_out + b_out,
        π_θ(a|s) = exp(z_a) / Σ_b exp(z_b)

    Backward pass for log π_θ(a|s), starting from the softmax's score in the logits,

        δ_out = ∂ log π(a|s)/∂z = e_a − π_θ(·|s),
        ∂/∂Wₗ = hₗ₋₁ᵀ δₗ,   ∂/∂bₗ = δₗ,   δₗ₋₁ = (δₗ Wₗᵀ) ⊙ (1 − hₗ₋₁²)

    (1 − h² is tanh′ written through its output).
    """

    def __init__(self, features, n_actions: int, hidden_sizes=(16,), n_features=None):
        self.features = StateFeatures.wrap(features, n_features)
        self.n_actions = checks.positive_int("n_actions", n_actions)
        try:
            hidden = tuple(hidden_sizes)
        except TypeError as error:
            raise ValueError(
                f"hidden_sizes must be a sequence of positive ints; got {hidden_sizes!r}"
            ) from error
        hidden = tuple(checks.positive_int("hidden_sizes[i]", h) for h in hidden)
        sizes = (self.features.n_features, *hidden, self.n_actions)
        self.hidden_sizes = hidden
        self.layer_shapes = list(pairwise(sizes))
        self.n_params = sum((n_in + 1) * n_out for n_in, n_out in self.layer_shapes)
        self.n_states = self.features.n_states

    # -- θ ↔ layers --------------------------------------------------------------------------

    def unpack(self, theta) -> list[Layer]:
        r"""Split flat θ into the layers [(W₁, b₁), …]; each W is a view into θ, row-major."""
        theta = checks.parameter_vector(theta, self.n_params)
        layers, start = [], 0
        for n_in, n_out in self.layer_shapes:
            weights = theta[start : start + n_in * n_out].reshape(n_in, n_out)
            start += n_in * n_out
            layers.append(Layer(weights, theta[start : start + n_out]))
            start += n_out
        return layers

    def pack(self, layers) -> np.ndarray:
        r"""Flat θ from a list of (W, b), the inverse of :meth:`unpack`."""
        layers = list(layers)
        if len(layers) != len(self.layer_shapes):
            raise ValueError(
                f"layers must hold {len(self.layer_shapes)} (weights, bias) pairs; "
                f"got {len(layers)}"
            )
        parts = []
        for index, ((weights, bias), (n_in, n_out)) in enumerate(
            zip(layers, self.layer_shapes, strict=True)
        ):
            weights = checks.finite_array(f"layers[{index}].weights", weights)
            bias = checks.finite_array(f"layers[{index}].bias", bias)
            if weights.shape != (n_in, n_out) or bias.shape != (n_out,):
                raise ValueError(
                    f"layers[{index}] must be weights {(n_in, n_out)} and bias ({n_out},); "
                    f"got {weights.shape} and {bias.shape}"
                )
            parts += [weights.ravel(), bias]
        return np.concatenate(parts)

    def initial_theta(self, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        r"""Random θ: Wₗ ∼ N(0, scale²/n_in) entrywise, biases 0."""
        rng = checks.rng_generator(rng)
        scale = checks.positive_scalar("scale", scale)
        return self.pack(
            Layer(rng.normal(0.0, scale / np.sqrt(n_in), (n_in, n_out)), np.zeros(n_out))
            for n_in, n_out in self.layer_shapes
        )

    # -- forward and backward ----------------------------------------------------------------

    def _forward(self, theta, states) -> tuple[list[Layer], list[np.ndarray], np.ndarray]:
        """The layers, the activations [h₀, …, h_L] and the logits z, shape (N, A)."""
        layers = self.unpack(theta)
        activations = [self.features.at(states)]
        for layer in layers[:-1]:
            activations.append(np.tanh(activations[-1] @ layer.weights + layer.bias))
        logits = activations[-1] @ layers[-1].weights + layers[-1].bias
        return layers, activations, logits

    def _forward_errors(self, theta):
        r"""The forward pass on every state with bounds on its rounding: (layers, activations,
        their errors, logits (S, A), their errors (S, A)).

        An affine layer u = h W + b of n_in inputs is off by at most
        (n_in + 2)ε (|h||W| + |b|) (its own rounding, Higham §3.1) plus |δh||W| (the input's);
        tanh adds 2ε|tanh u| and passes δu on at most (it is 1-Lipschitz).
        """
        layers = self.unpack(theta)
        activations = [np.asarray(self.features.source, dtype=float)]
        errors = [np.zeros(activations[0].shape)]
        for index, layer in enumerate(layers):
            h, delta_h = activations[-1], errors[-1]
            u = h @ layer.weights + layer.bias
            delta_u = ((h.shape[1] + 2) * EPS * (np.abs(h) @ np.abs(layer.weights)
                                                  + np.abs(layer.bias))
                       + delta_h @ np.abs(layer.weights))
            if index == len(layers) - 1:
                return layers, activations, errors, u, delta_u
            activations.append(np.tanh(u))
            errors.append(2.0 * EPS * np.abs(activations[-1]) + delta_u)
        raise AssertionError("unreachable: the output layer returns")

    def table_logit_errors(self, theta: np.ndarray) -> np.ndarray:
        r"""A bound (S, A) on the rounding of the logits, by the forward pass's running error
        analysis (:meth:`_forward_errors`)."""
        return self._forward_errors(theta)[4]

    def table_score_errors(self, theta: np.ndarray, pi: np.ndarray, rho: np.ndarray
                           ) -> np.ndarray:
        r"""A bound (S, A, n_params) on the rounding of the backward pass (class Notes), run on
        bounds alongside it: δ_out = e_a − π off by ρ_b π_b + ε|δ_out|; ∂/∂b = δ; ∂/∂W = hᵀδ off
        by |δh||δ| + |h|E + |δh|E + ε|h||δ|; δ Wᵀ of n_out terms off by (n_out + 1)ε|δ||W|ᵀ +
        E|W|ᵀ; 1 − h² off by (2|h| + δh)δh + 2ε(h² + |1 − h²|); their product v g off by
        E_v|g| + |v|E_g + E_v E_g + ε|v g| (E: the error bound of δ)."""
        layers, activations, errors, _, _ = self._forward_errors(theta)
        n_states, n_actions = pi.shape
        rows = np.repeat(np.arange(n_states), n_actions)              # (s, a) in table order
        taken = np.tile(np.arange(n_actions), n_states)
        delta = -pi[rows]
        delta[np.arange(rows.size), taken] += 1.0                    # e_a − π(·|s)
        bound = rho[rows] * pi[rows] + EPS * np.abs(delta)
        parts = []
        for index in range(len(layers) - 1, -1, -1):
            h, delta_h = activations[index][rows], errors[index][rows]
            parts.append(bound)                                               # ∂/∂b
            parts.append((np.einsum("ni,no->nio", delta_h, np.abs(delta))
                          + np.einsum("ni,no->nio", np.abs(h) + delta_h, bound)
                          + EPS * np.einsum("ni,no->nio", np.abs(h), np.abs(delta))
                          ).reshape(rows.size, -1))                           # ∂/∂W
            if index > 0:
                weights = np.abs(layers[index].weights)
                v = delta @ layers[index].weights.T
                v_error = (weights.shape[1] + 1) * EPS * (np.abs(delta) @ weights.T) + (
                    bound @ weights.T)
                g = 1.0 - h**2
                g_error = (2.0 * np.abs(h) + delta_h) * delta_h + 2.0 * EPS * (h**2 + np.abs(g))
                bound = (v_error * np.abs(g) + np.abs(v) * g_error + v_error * g_error
                         + EPS * np.abs(v * g))
                delta = v * g
        return np.concatenate(parts[::-1], axis=1).reshape(n_states, n_actions, self.n_params)

    def logits(self, theta, states) -> np.ndarray:
        r"""The logits z(s) of the network's last layer, shape (N, A)."""
        batch, single = self._states_batch(states)
        result = self._forward(theta, batch)[2]
        return result[0] if single else result

    def batch_log_probs(self, theta, states):
        return log_softmax(self._forward(theta, states)[2])

    def batch_scores(self, theta, states, actions):
        layers, activations, logits = self._forward(theta, states)
        n = logits.shape[0]
        delta = -np.exp(log_softmax(logits))  # δ_out = e_a − π(·|s)
        delta[np.arange(n), actions] += 1.0
        grads = []
        for index in range(len(layers) - 1, -1, -1):
            h_in = activations[index]
            grads.append(delta)  # ∂/∂b
            grads.append(np.einsum("ni,no->nio", h_in, delta).reshape(n, -1))  # ∂/∂W
            if index > 0:
                delta = (delta @ layers[index].weights.T) * (1.0 - h_in**2)
        return np.concatenate(grads[::-1], axis=1)
