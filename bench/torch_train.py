#!/usr/bin/env python3
"""PyTorch eager reference for `anneal bench train`: the same GPT-2 (learned positions,
pre-LN, GELU(tanh) MLP 4x, tied head), fp32, 2 threads, AdamW (lr 3e-4, wd 0.1), clip 1.0,
one fixed batch of random tokens, forward + backward + clip + step timed per step.

  python3 bench/torch_train.py C1 [steps] [--attention sdpa|plain]

Prints one JSON line with the same keys as Anneal's `--json` output.
"""
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {"C1": dict(V=4096, T=128, C=256, L=4, H=4, B=16),
           "C2": dict(V=8192, T=256, C=512, L=8, H=8, B=8)}


class Block(nn.Module):
    def __init__(self, C, H, sdpa):
        super().__init__()
        self.H, self.sdpa = H, sdpa
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.attn_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def attention(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.H)
            mask = torch.ones(T, T, dtype=torch.bool).tril()
            y = att.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        return self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, T, C, L, H, sdpa):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, H, sdpa) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100)


def main():
    name = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 10
    sdpa = "plain" not in sys.argv
    cfg = CONFIGS[name]
    torch.set_num_threads(2)
    torch.manual_seed(1)
    model = GPT(cfg["V"], cfg["T"], cfg["C"], cfg["L"], cfg["H"], sdpa)
    with torch.no_grad():  # GPT-2 initialisation, as Anneal's
        for n, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.02)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=3e-4)
    idx = torch.randint(0, cfg["V"], (cfg["B"], cfg["T"]))
    targets = torch.roll(idx, -1, dims=1)
    targets[:, -1] = -100
    times = []
    for step in range(2 + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(idx, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if step >= 2:
            times.append(dt)
    V, T, C, L = cfg["V"], cfg["T"], cfg["C"], cfg["L"]
    non_emb = L * (12 * C * C + 13 * C) + 2 * C
    flops = 6 * (non_emb + V * C) + 12 * L * T * C
    tokens = cfg["B"] * T
    tps = tokens / statistics.median(times)
    print(json.dumps({"config": name, "impl": "pytorch-eager-" + ("sdpa" if sdpa else "plain"),
                      "torch": torch.__version__, "tokens_per_s": tps, "best_tokens_per_s": tokens / min(times),
                      "gflops": tps * flops / 1e9, "final_loss": loss.item(),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "step_seconds": [round(t, 4) for t in times]}))


if __name__ == "__main__":
    main()
