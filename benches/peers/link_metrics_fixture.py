"""Writes crates/graph-data/tests/fixtures/link_metrics.json: link-prediction
metrics computed by scikit-learn (ROC AUC, average precision) and by OGB's
linkproppred evaluator formulas (Hits@K, MRR) on random scores with many ties.

    python3 -m venv /tmp/venv-metrics && /tmp/venv-metrics/bin/pip install scikit-learn numpy
    /tmp/venv-metrics/bin/python benches/peers/link_metrics_fixture.py

OGB's Evaluator needs torch; when `ogb` and `torch` import, it is used, else
the formulas of ogb 1.3.6's `linkproppred/evaluate.py` (torch branch of
`_eval_hits` and `_eval_mrr`) are applied with numpy, verbatim.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score

try:
    import torch
    from ogb.linkproppred import Evaluator

    OGB = "ogb " + __import__("ogb").__version__
except Exception:  # noqa: BLE001
    torch = None
    OGB = "ogb 1.3.6 formulas (torch branch) in numpy"


def hits(pos, neg, k):
    if torch is not None:
        ev = Evaluator(name="ogbl-collab")
        ev.K = k
        return ev._eval_hits(torch.tensor(pos), torch.tensor(neg), "torch")[f"hits@{k}"]
    if len(neg) < k:
        return 1.0
    kth = np.sort(neg)[-k]
    return float(np.sum(pos > kth)) / len(pos)


def mrr(pos, neg):
    if torch is not None:
        ev = Evaluator(name="ogbl-citation2")
        out = ev._eval_mrr(torch.tensor(pos), torch.tensor(neg), "torch")
        return {k: float(v.mean()) for k, v in out.items()}
    pos = pos.reshape(-1, 1)
    optimistic = (neg > pos).sum(axis=1)
    pessimistic = (neg >= pos).sum(axis=1)
    ranking = 0.5 * (optimistic + pessimistic) + 1
    return {
        "hits@1_list": float((ranking <= 1).astype(np.float64).mean()),
        "hits@3_list": float((ranking <= 3).astype(np.float64).mean()),
        "hits@10_list": float((ranking <= 10).astype(np.float64).mean()),
        "mrr_list": float((1.0 / ranking).mean()),
    }


def main():
    rng = np.random.default_rng(22)
    cases = []
    for i in range(12):
        n_pos = int(rng.integers(1, 60))
        n_neg = int(rng.integers(1, 80))
        # Few distinct values in some cases: many ties. Dyadic scores, exact
        # in binary and in JSON, so ties survive the round trip.
        levels = [4, 16, 1024][i % 3]
        pos = rng.integers(0, levels, n_pos) / levels + 0.125 * (i % 2)
        neg = rng.integers(0, levels, n_neg) / levels
        y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
        s = np.r_[pos, neg]
        m = int(rng.integers(1, 12))
        neg_rows = rng.integers(0, levels, (n_pos, m)) / levels
        case = {
            "pos": pos.tolist(),
            "neg": neg.tolist(),
            "roc_auc": float(roc_auc_score(y, s)),
            "average_precision": float(average_precision_score(y, s)),
            "hits": {str(k): hits(pos, neg, k) for k in (1, 3, 10, 50, 100)},
            "neg_rows": neg_rows.reshape(-1).tolist(),
            "mrr": mrr(pos, neg_rows),
        }
        cases.append(case)
    out = {
        "generator": f"benches/peers/link_metrics_fixture.py, scikit-learn {sklearn.__version__}, {OGB}",
        "cases": cases,
    }
    path = os.path.join(
        os.path.dirname(__file__), "..", "..", "crates", "graph-data", "tests", "fixtures", "link_metrics.json"
    )
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", os.path.normpath(path), len(cases), "cases")


if __name__ == "__main__":
    main()
