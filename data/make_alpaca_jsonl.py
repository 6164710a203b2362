"""Writes data/alpaca.jsonl, the example user instruction data of pipelines/lora-alpaca.yaml:
240 small alpaca-format tasks made by this script (no third-party text): opposites, sorting
words, counting letters and spelling numbers. Run: python3 data/make_alpaca_jsonl.py"""
import json, random

random.seed(11)
opposites = {"hot": "cold", "big": "small", "early": "late", "open": "closed", "full": "empty", "light": "dark",
             "fast": "slow", "high": "low", "old": "new", "wet": "dry", "loud": "quiet", "near": "far"}
words = ["pear", "apple", "fig", "harbour", "lantern", "meadow", "bridge", "orchard", "river", "stone", "cloud",
         "garden", "market", "ferry", "honey", "valley"]
ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]

def spell(n):
    if n < 10: return ones[n]
    if n < 20: return teens[n - 10]
    return tens[n // 10] + ("" if n % 10 == 0 else "-" + ones[n % 10])

def example():
    kind = random.choice(["opposite", "sort", "count", "spell"])
    if kind == "opposite":
        w = random.choice(sorted(opposites))
        return {"instruction": "Give the opposite of the word.", "input": w, "output": opposites[w]}
    if kind == "sort":
        ws = random.sample(words, random.randint(3, 5))
        return {"instruction": "Sort these words alphabetically.", "input": " ".join(ws), "output": " ".join(sorted(ws))}
    if kind == "count":
        w = random.choice(words)
        return {"instruction": "How many letters does this word have?", "input": w, "output": str(len(w))}
    n = random.randint(0, 99)
    return {"instruction": "Write the number in words.", "input": str(n), "output": spell(n)}

with open("data/alpaca.jsonl", "w") as f:
    for _ in range(240):
        f.write(json.dumps(example()) + "\n")
