"""Anneal plugin: minibatch SGD on a linear model (weights and a bias) under the mean squared
error. Reports `loss` (the step's batch loss), `val_loss` every eval_interval steps and at the
end, and `lr`, as JSON lines on ANNEAL_PROGRESS_FD; writes model/weights.json."""
import json, os, random

params = json.load(open(os.environ["ANNEAL_PARAMS"]))
progress = os.fdopen(int(os.environ.get("ANNEAL_PROGRESS_FD", "3")), "w", buffering=1)
rng = random.Random(int(os.environ["ANNEAL_SEED"]))
rows = [json.loads(l) for l in open(os.path.join(os.environ["ANNEAL_INPUT_DATA"], "rows.jsonl"))]
n_val = max(1, int(len(rows) * params["val_share"]))
val, train = rows[:n_val], rows[n_val:]
dim = len(rows[0]["x"])
w, b = [0.0] * dim, 0.0
lr, steps, bs = params["learning_rate"], params["steps"], params["batch_size"]

def predict(x):
    return sum(a * c for a, c in zip(w, x)) + b

def mse(rs):
    return sum((predict(r["x"]) - r["y"]) ** 2 for r in rs) / len(rs)

for step in range(1, steps + 1):
    batch = [train[rng.randrange(len(train))] for _ in range(bs)]
    gw, gb, loss = [0.0] * dim, 0.0, 0.0
    for r in batch:
        err = predict(r["x"]) - r["y"]
        loss += err * err
        gb += 2 * err
        for i, v in enumerate(r["x"]):
            gw[i] += 2 * err * v
    w = [a - lr * g / bs for a, g in zip(w, gw)]
    b -= lr * gb / bs
    metrics = {"loss": loss / bs, "lr": lr}
    if step % params["eval_interval"] == 0 or step == steps:
        metrics["val_loss"] = mse(val)
    progress.write(json.dumps({"step": step, "total": steps, "metrics": metrics}) + "\n")

with open(os.path.join(os.environ["ANNEAL_OUTPUT_MODEL"], "weights.json"), "w") as f:
    json.dump({"w": [round(v, 8) for v in w], "b": round(b, 8)}, f)
