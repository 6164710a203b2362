"""Anneal plugin: rows {"x": [dim floats], "y": float} with y = w·x + noise, w and x drawn
from the stage's seed, written as train/rows.jsonl and test/rows.jsonl."""
import json, os, random

params = json.load(open(os.environ["ANNEAL_PARAMS"]))
rng = random.Random(int(os.environ["ANNEAL_SEED"]))
dim = params["dim"]
w = [rng.gauss(0, 1) for _ in range(dim)]

def rows(n):
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dim)]
        yield {"x": [round(v, 6) for v in x], "y": round(sum(a * b for a, b in zip(w, x)) + rng.gauss(0, params["noise"]), 6)}

for name, n in (("train", params["n_train"]), ("test", params["n_test"])):
    with open(os.path.join(os.environ["ANNEAL_OUTPUT_" + name.upper()], "rows.jsonl"), "w") as f:
        for r in rows(n):
            f.write(json.dumps(r) + "\n")
