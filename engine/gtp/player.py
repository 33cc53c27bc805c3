"""Move choice from the raw policy: which move, when to pass, when to resign.

The rules, in the order `Player.decide` applies them:

1. Resign only if `resign_threshold` is set, from move 100 on, when the area estimate
   below puts us more than that many points behind.
2. Candidates are the legal moves that are *sensible*: not filling an own eye (an
   empty point whose on-board neighbours are all own stones, with no opponent stone
   on its diagonals on the edge or in a corner and at most one elsewhere: the
   sensibleness plane of the features), and not inside settled own territory (an
   empty region of at most `territory_max` points bordered by own stones only:
   under area scoring such a point already counts for us, so a move there gains
   nothing). In cleanup mode (`kgs-genmove_cleanup`) regions bordered by opponent
   stones only are skipped too, so the engine plays where both colours touch, which
   is where dead stones stand, until they are captured.
3. No candidate left: pass.
4. The opponent has just passed and the game is decided: pass. Decided means we lead
   by the area score of the current position counted with every stone alive
   (Tromp-Taylor, komi included), or no empty region touches both colours any more.
   Counting every stone alive is the simple dead-stone-free estimate: it can only
   undercount our lead where opponent stones are dead in our area, and our own dead
   stones are few when we lead. Not used in cleanup mode.
5. Otherwise the most probable candidate (deterministic), or with `temperature` > 0 a
   sample from the candidates' probabilities raised to 1/temperature.
"""

from dataclasses import dataclass

import numpy as np

from gopolicy.coords import Point, neighbour_table
from gopolicy.features import sensible_points

RESIGN = "resign"


@dataclass(frozen=True)
class PlayerConfig:
    """How the engine chooses: temperature 0 = most probable move; resign_threshold in points."""

    temperature: float = 0.0
    resign_threshold: float | None = None
    resign_after_move: int = 100
    territory_max: int = 60
    seed: int | None = None


@dataclass(frozen=True)
class Decision:
    """A chosen move (point, None for pass, or RESIGN), the PolicyMap used if any, and why."""

    move: Point | None | str
    policy: object | None
    reason: str


def sensible_moves(position, colour: int) -> np.ndarray:
    """Return bool[size, size]: the legal moves of `colour` that fill no own eye (the
    sensibleness feature plane, so the engine and the network share one eye rule; computed
    alone, so that the planes of a move are encoded once, by the policy)."""
    if position.to_play != colour:
        position = position.with_to_play(colour)
    return sensible_points(position)


def empty_regions(grid: np.ndarray) -> tuple[np.ndarray, list[tuple[int, bool, bool]]]:
    """Label the empty regions of a board.

    Returns (labels int32[size, size], -1 on stones; regions[label] = (points,
    touches black, touches white)).
    """
    size = grid.shape[0]
    flat = grid.reshape(-1)
    nbrs = neighbour_table(size)
    labels = np.full(size * size, -1, dtype=np.int32)
    regions = []
    for start in np.flatnonzero(flat == 0):
        if labels[start] >= 0:
            continue
        label = len(regions)
        labels[start] = label
        stack, count, black, white = [int(start)], 0, False, False
        while stack:
            p = stack.pop()
            count += 1
            for q in nbrs[p]:
                if q < 0:
                    continue
                v = flat[q]
                if v == 0:
                    if labels[q] < 0:
                        labels[q] = label
                        stack.append(int(q))
                elif v > 0:
                    black = True
                else:
                    white = True
        regions.append((count, black, white))
    return labels.reshape(size, size), regions


def score_for(position, colour: int) -> float:
    """Return the area score (every stone alive, komi included) from `colour`'s view."""
    return position.area_score() * colour


def candidates(position, colour: int, territory_max: int = 60, cleanup: bool = False
               ) -> tuple[np.ndarray, bool]:
    """Return (bool[size, size] sensible moves for `colour`, whether a region is contested)."""
    mask = sensible_moves(position, colour)
    labels, regions = empty_regions(position.grid)
    settled = np.zeros(len(regions) + 1, dtype=bool)  # last entry: stones (label -1)
    contested = False
    for label, (count, black, white) in enumerate(regions):
        contested |= black and white
        mine, theirs = (black, white) if colour > 0 else (white, black)
        if count <= territory_max and (mine != theirs) and (mine or cleanup):
            settled[label] = True
    return mask & ~settled[labels], contested


class Player:
    """Chooses moves with a policy (anything with `evaluate(position) -> PolicyMap`)."""

    def __init__(self, policy, config: PlayerConfig = PlayerConfig()):
        self.policy = policy
        self.config = config
        self.rng = np.random.default_rng(config.seed)

    def decide(self, position, colour: int, opponent_passed: bool = False,
               cleanup: bool = False) -> Decision:
        """Return the Decision for `colour` to move in `position` (rules in the module doc)."""
        cfg = self.config
        if position.to_play != colour:
            position = position.with_to_play(colour)
        if (cfg.resign_threshold is not None and position.move_number >= cfg.resign_after_move
                and score_for(position, colour) < -cfg.resign_threshold):
            return Decision(RESIGN, None, "behind by more than the resign threshold")
        mask, contested = candidates(position, colour, cfg.territory_max, cleanup)
        if not mask.any():
            return Decision(None, None, "no sensible move left")
        if opponent_passed and not cleanup:
            if score_for(position, colour) > 0:
                return Decision(None, None, "opponent passed and we lead on area")
            if not contested:
                return Decision(None, None, "opponent passed and no region is contested")
        policy_map = self.policy.evaluate(position)
        return Decision(self.pick(policy_map.probs, mask), policy_map, "policy")

    def pick(self, probs: np.ndarray, mask: np.ndarray) -> Point:
        """Return the chosen point among `mask` (most probable, or sampled with temperature)."""
        size = mask.shape[0]
        p = np.where(mask, probs, 0.0).astype(np.float64).reshape(-1)
        if p.sum() <= 0:  # the net gives the sensible moves no mass: any of them will do
            p = mask.reshape(-1).astype(np.float64)
        if self.config.temperature <= 0:
            index = int(np.argmax(p))
        else:
            logits = np.log(np.maximum(p, 1e-30)) / self.config.temperature
            logits = np.where(p > 0, logits - logits[p > 0].max(), -np.inf)
            weights = np.exp(logits)
            index = int(self.rng.choice(p.size, p=weights / weights.sum()))
        return divmod(index, size)
