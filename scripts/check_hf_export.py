#!/usr/bin/env python3
"""Compares a model exported by `anneal export --format hf` in transformers with Anneal itself.

For each prompt: the ids AutoTokenizer gives equal `anneal generate`'s prompt_ids; greedy
`model.generate` gives the same tokens as `anneal generate --temperature 0`; the logits
transformers computes for every generated position (one full forward pass) match the ones
Anneal drew each token from (KV-cached decoding, written with --logits) within TOLERANCE of
the logits' scale. For chat: apply_chat_template renders as Anneal's template and greedy
generation from it equals `anneal chat --prompt --temperature 0`. With --rewards (a model with
a scalar head), AutoModelForSequenceClassification scores each row of the file (right-padded
ids) as Anneal did, which also checks that transformers reads the last non-padding token.

A greedy step where the two best logits are closer than the tolerance is a tie either side
may break; the check then stops that prompt there and says so (it never passes a mismatch
at a clear margin).

  python3 scripts/check_hf_export.py --anneal BIN --model MODEL --export DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

TOLERANCE = 1e-4  # max |logit difference| / max(1, max |logit|)
MAX_TOKENS = 24
PROMPTS = [
    "The capital of",
    "Hello",
    "Numbers: 12, 345 and 6789.",
    "  spaces,\ttabs and\nnew lines ",
    "<|user|>What is the capital?<|end|><|assistant|>",
    "",  # starts from <|endoftext|>
]
QUESTIONS = ["What is the capital of Avalon?", "Hello there! Who are you?"]


def anneal(binary, args):
    proc = subprocess.run([binary] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: anneal {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout)


def top2_gap(row):
    top = torch.topk(row, 2).values
    return (top[0] - top[1]).item()


def compare_greedy(label, model, prompt_ids, ours, stop, scale_floor=1.0):
    """Greedy tokens of transformers vs Anneal's; returns (max logit error, tokens compared)."""
    prompt = torch.tensor([prompt_ids])
    with torch.no_grad():
        gen = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=len(ours), eos_token_id=stop, pad_token_id=stop[0])
        theirs = gen[0, len(prompt_ids):].tolist()
        full = torch.tensor([prompt_ids + ours[:-1]])
        logits = model(full).logits[0, len(prompt_ids) - 1:]
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            gap = top2_gap(logits[k])
            scale = max(scale_floor, logits[k].abs().max().item())
            if gap < TOLERANCE * scale:
                print(f"  {label}: tie at step {k} (top-2 gap {gap:.2e}); compared {k} tokens")
                return logits[:k], k
            sys.exit(f"FAIL: {label}: step {k}: anneal {a}, transformers {b} (top-2 gap {gap:.3g})\n"
                     f"  anneal:       {ours}\n  transformers: {theirs}")
    if len(theirs) != len(ours):
        sys.exit(f"FAIL: {label}: anneal generated {len(ours)} tokens, transformers {len(theirs)}")
    return logits, len(ours)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anneal", required=True)
    ap.add_argument("--model", required=True, help="what anneal reads: a checkpoint directory or STAGE.OUTPUT")
    ap.add_argument("--export", required=True, help="the directory anneal export wrote")
    ap.add_argument("--rewards", help="JSON [{ids, reward}] Anneal computed with the scalar head")
    args = ap.parse_args()
    torch.set_num_threads(1)

    tok = AutoTokenizer.from_pretrained(args.export)
    model = AutoModelForCausalLM.from_pretrained(args.export, torch_dtype=torch.float32).eval()
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    print(f"{args.export}: {type(model).__name__}, {type(tok).__name__}, vocab {model.config.vocab_size}, "
          f"n_positions {model.config.n_positions}, eos {model.config.eos_token_id}")

    worst, compared = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(PROMPTS):
            logits_file = os.path.join(tmp, f"logits-{i}.safetensors")
            ours = anneal(args.anneal, ["generate", args.model, "--prompt", text, "--temperature", "0",
                                        "--max-tokens", str(MAX_TOKENS), "--json", "--logits", logits_file])
            hf_ids = tok(text, add_special_tokens=False)["input_ids"] if text else [eot]
            if hf_ids != ours["prompt_ids"]:
                sys.exit(f"FAIL: prompt {text!r}: AutoTokenizer ids {hf_ids}, anneal {ours['prompt_ids']}")
            logits, n = compare_greedy(f"prompt {text!r}", model, ours["prompt_ids"], ours["ids"], [eot])
            ref = load_file(logits_file)["logits"][:n]
            if n:
                err = ((logits - ref).abs().max() / max(1.0, ref.abs().max().item())).item()
                worst = max(worst, err)
                if err > TOLERANCE:
                    sys.exit(f"FAIL: prompt {text!r}: logits differ by {err:.3g} of their scale (tolerance {TOLERANCE})")
            compared += n
            print(f"  prompt {text!r}: {n} greedy tokens equal; logits max rel. diff "
                  f"{(((logits - ref).abs().max() / max(1.0, ref.abs().max().item())).item() if n else 0):.2e}")

        if tok.chat_template is None:
            print("  (no chat template: the tokenizer lacks the chat special tokens)")
        else:
            messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                        {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]
            rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            expected = "<|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>Hello.<|end|><|user|>Bye<|end|><|assistant|>"
            if rendered != expected:
                sys.exit(f"FAIL: chat template renders {rendered!r}, Anneal's template {expected!r}")
            print("  chat template renders as Anneal's")
            stop = model.generation_config.eos_token_id
            stop = stop if isinstance(stop, list) else [stop]
            for q in QUESTIONS:
                ours = anneal(args.anneal, ["chat", args.model, "--prompt", q, "--temperature", "0",
                                            "--max-tokens", str(MAX_TOKENS), "--json"])
                text = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
                prompt_ids = tok(text, add_special_tokens=False)["input_ids"]
                if len(prompt_ids) != ours["prompt_tokens"]:
                    sys.exit(f"FAIL: chat {q!r}: transformers' prompt has {len(prompt_ids)} tokens, anneal's {ours['prompt_tokens']}")
                _, n = compare_greedy(f"chat {q!r}", model, prompt_ids, ours["ids"], stop)
                compared += n
                print(f"  chat {q!r}: {n} greedy tokens equal: {ours['text']!r}")

    if args.rewards:
        with open(args.rewards) as f:
            rows = json.load(f)
        scorer = AutoModelForSequenceClassification.from_pretrained(args.export, torch_dtype=torch.float32).eval()
        with torch.no_grad():
            scores = scorer(torch.tensor([r["ids"] for r in rows])).logits[:, 0]
        ours = torch.tensor([r["reward"] for r in rows])
        err = ((scores - ours).abs().max() / max(1.0, ours.abs().max().item())).item()
        print(f"  {type(scorer).__name__}: {len(rows)} rewards, max rel. diff {err:.2e}: {[round(x, 4) for x in scores.tolist()]}")
        if err > TOLERANCE:
            sys.exit(f"FAIL: rewards differ: transformers {scores.tolist()}, anneal {ours.tolist()}")

    print(f"OK: {compared} greedy tokens equal; worst logit difference {worst:.2e} of scale (tolerance {TOLERANCE})")


if __name__ == "__main__":
    main()
