"""KataGo analysis results: one analysed turn of a Request -> KataGo's result object.

Built from the policy network's move probabilities alone, field by field as KataGo's
docs/Analysis_Engine.md describes them:

| result field | here                                                                        |
| ------------ | --------------------------------------------------------------------------- |
| id, turnNumber, isDuringSearch | the query's id, the turn, always false (one final result per turn) |
| rootInfo     | currentPlayer "B"/"W", visits = maxVisits, winrate 0.5, scoreLead 0 (and KataGo's other value fields at their neutral values), valuesEstimated false: there is no value network |
| moveInfos    | the moves the prior gives at least one visit when maxVisits are shared out in proportion to it (largest remainders), most probable first: move, order, prior, visits, pv [move], winrate 0.5, scoreLead 0 ... |
| policy       | with includePolicy: 362 floats, row by row from the top (A19 first), pass last; -1 on illegal points. The network has no pass output: pass is 0, or 1 when no point is legal |
"""

from __future__ import annotations

import numpy as np

from gopolicy.board import BLACK
from gopolicy.coords import format_vertex
from gopolicy.engine.katago.query import Request

NEUTRAL = {"winrate": 0.5, "scoreLead": 0.0, "scoreMean": 0.0, "scoreSelfplay": 0.0,
           "scoreStdev": 0.0, "utility": 0.0, "lcb": 0.5, "utilityLcb": 0.0}


def _round(values: np.ndarray) -> list[float]:
    """Return the values as floats with 6 significant digits (short JSON, float32's precision)."""
    return [float(f"{v:.6g}") for v in values.tolist()]


def policy_array(probs: np.ndarray, legal: np.ndarray) -> list[float]:
    """Return KataGo's policy list for probs/legal [row, col] (row 0 = GTP row 1): size*size + 1
    floats, top row first, -1 on illegal points, then the pass (0, or 1 if nothing is legal)."""
    flat = np.where(legal, probs, -1.0)[::-1].ravel()
    return _round(np.append(flat, 0.0 if legal.any() else 1.0))


def share_visits(priors: np.ndarray, total: int) -> np.ndarray:
    """Return int64 visits summing to `total`, in proportion to `priors` (largest remainders,
    ties to the earlier entry); all 0 if the priors sum to 0."""
    mass = priors.sum()
    if mass <= 0:
        return np.zeros(len(priors), np.int64)
    exact = priors / mass * total
    visits = np.floor(exact).astype(np.int64)
    left = total - int(visits.sum())
    if left > 0:
        visits[np.argsort(-(exact - visits), kind="stable")[:left]] += 1
    return visits


def move_infos(probs: np.ndarray, legal: np.ndarray, keep: np.ndarray, max_visits: int) -> list[dict]:
    """Return KataGo moveInfos for the legal `keep` points (bool [row, col]) given at least one
    of `max_visits` visits by their prior, most probable first; pass only when nothing is legal."""
    size = probs.shape[0]
    flat = np.where(legal & keep, probs, 0.0).ravel().astype(np.float64)
    order = np.argsort(-flat, kind="stable")
    order = order[flat[order] > 0]
    moves = [format_vertex(divmod(int(i), size), size) for i in order]
    priors = flat[order]
    if not legal.any():  # nothing to play: the pass takes it all
        moves, priors = ["pass"], np.ones(1)
    visits = share_visits(priors, max_visits)
    return [{"move": move, "order": rank, "prior": float(f"{prior:.6g}"), "visits": int(n),
             "pv": [move], **NEUTRAL}
            for rank, (move, prior, n) in enumerate(zip(moves, priors, visits)) if n > 0]


def _points_mask(points, shape) -> np.ndarray:
    """Return bool `shape`, True on the (row, col) points of `points` (None, the pass, left out)."""
    mask = np.zeros(shape, bool)
    for point in points - {None}:
        mask[point] = True
    return mask


def analysis_result(request: Request, turn: int, position, probs: np.ndarray) -> dict:
    """Return the KataGo result object of one turn of `request` from its move probabilities."""
    legal = position.legal_mask(position.to_play)
    keep = np.ones_like(legal)
    allowed = request.allow.get(position.to_play)
    if allowed is not None:
        keep = _points_mask(allowed, legal.shape)
    avoided = request.avoid.get(position.to_play)
    if avoided is not None:
        keep &= ~_points_mask(avoided, legal.shape)
    result = {
        "id": request.id, "turnNumber": turn, "isDuringSearch": False,
        "moveInfos": move_infos(probs, legal, keep, request.max_visits),
        "rootInfo": {"currentPlayer": "B" if position.to_play == BLACK else "W",
                     "visits": request.max_visits, **NEUTRAL, "valuesEstimated": False},
    }
    if request.include_policy:
        result["policy"] = policy_array(probs, legal)
    return result

