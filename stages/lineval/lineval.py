"""Anneal plugin: test MSE of model/weights.json on data/rows.jsonl, and the share of rows
where the model's error is smaller than the constant predictor's (the rows' mean label),
with a Wilson score interval. Metrics: test_mse, win_rate.vs_mean, win_rate_ci_low.vs_mean,
win_rate_ci_high.vs_mean; the same in scores/scores.json."""
import json, math, os

params = json.load(open(os.environ["ANNEAL_PARAMS"]))
progress = os.fdopen(int(os.environ.get("ANNEAL_PROGRESS_FD", "3")), "w", buffering=1)
model = json.load(open(os.path.join(os.environ["ANNEAL_INPUT_MODEL"], "weights.json")))
rows = [json.loads(l) for l in open(os.path.join(os.environ["ANNEAL_INPUT_DATA"], "rows.jsonl"))]
mean = sum(r["y"] for r in rows) / len(rows)
wins, se = 0, 0.0
for r in rows:
    err = sum(a * c for a, c in zip(model["w"], r["x"])) + model["b"] - r["y"]
    se += err * err
    wins += abs(err) < abs(mean - r["y"])
n, z = len(rows), params["z"]
p = wins / n
centre = (p + z * z / (2 * n)) / (1 + z * z / n)
half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
scores = {"test_mse": se / n, "win_rate.vs_mean": p,
          "win_rate_ci_low.vs_mean": centre - half, "win_rate_ci_high.vs_mean": centre + half}
progress.write(json.dumps({"step": 1, "total": 1, "metrics": scores}) + "\n")
with open(os.path.join(os.environ["ANNEAL_OUTPUT_SCORES"], "scores.json"), "w") as f:
    json.dump(scores, f, sort_keys=True)
