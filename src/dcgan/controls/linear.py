"""Moves of z along linear directions that stay inside the prior's box.

Every named control is a unit vector n in z-space with a signed distance n·z + b (an attribute's boundary, an age
regression, a discovered direction). A request is a set of targets: "move 1.7 along Smiling, 0 along Male and
Young" (an edit), or "reach distance ≥ 0.8 on Eyeglasses" (constrained sampling). `move_in_box` finds the smallest
change of z that meets all targets at once (the minimum-norm solution of N·δ = t) and keeps z inside [low, high]
by *moving in the sub-space of free coordinates*: a coordinate that would leave the box is stopped at the bound
and the rest of the move is solved again on the coordinates still free. What could not be reached is reported
(`lost`: the share of the requested move, by norm, that the box took), never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROUNDS = 8
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Move:
    """z after a move (N×dim), the share of each row's requested move the box took, and its saturated coords."""

    z: np.ndarray
    lost: np.ndarray
    saturated: np.ndarray


def min_norm_step(normals: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """δ (N×dim) of least norm with normals·δ = targets (N×k); rank-deficient normals use the pseudo-inverse."""
    return targets @ np.linalg.pinv(normals).T


def move_in_box(z: np.ndarray, normals: np.ndarray, targets: np.ndarray, low: float, high: float) -> Move:
    """z (N×dim) moved so that normals·(z' − z) = targets (N×k) as nearly as the box [low, high] allows."""
    z = np.asarray(z, np.float64)
    normals = np.asarray(normals, np.float64)
    targets = np.asarray(targets, np.float64)
    moved = z.copy()
    free = np.ones_like(z, dtype=bool)
    for _ in range(ROUNDS):
        remaining = targets - (moved - z) @ normals.T
        if np.all(np.abs(remaining) < TOLERANCE):
            break
        for i in np.flatnonzero(np.any(np.abs(remaining) >= TOLERANCE, axis=1)):
            cols = free[i]
            if not cols.any():
                continue
            moved[i, cols] += min_norm_step(normals[:, cols], remaining[i : i + 1])[0]
        outside = (moved < low) | (moved > high)
        free &= ~outside
        np.clip(moved, low, high, out=moved)
    achieved = (moved - z) @ normals.T
    requested = np.linalg.norm(targets, axis=1)
    missed = np.linalg.norm(targets - achieved, axis=1)
    lost = np.divide(missed, requested, out=np.zeros_like(missed), where=requested > 0)
    saturated = newly_saturated(z, moved, low, high)
    return Move(moved.astype(np.float32), np.minimum(lost, 1.0).astype(np.float32), saturated)


def newly_saturated(before: np.ndarray, after: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per row, the coordinates a move left at a bound of the box that were not there before it."""
    return (((after <= low) | (after >= high)) & ~((before <= low) | (before >= high))).sum(axis=1)


def reflect(z: np.ndarray, low: float, high: float) -> np.ndarray:
    """z folded back into [low, high] at the bounds (a random walk that keeps the prior's uniform density)."""
    width = high - low
    folded = np.mod(np.asarray(z, np.float64) - low, 2 * width)
    return (low + np.where(folded > width, 2 * width - folded, folded)).astype(np.float32)
