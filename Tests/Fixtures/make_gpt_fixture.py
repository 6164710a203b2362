#!/usr/bin/env python3
"""Golden fixtures for Anneal's GPT, computed by an independent PyTorch implementation.

Writes two fixture directories next to this script, each a checkpoint Anneal can load
(config.json + model.safetensors [+ adapter files]) plus expected.safetensors:

  gpt/             tiny GPT-2: tokens, targets (-100 = ignored), per-token weights, logits,
                   loss (weighted mean cross-entropy), the gradient of every parameter, and
                   the losses of 10 AdamW steps (clip at global norm 1.0).
  gpt_lora_score/  the same body with a scalar head and LoRA (rank 4, alpha 8) on attn.c_attn
                   and mlp.c_proj, base frozen; loss = -logsigmoid(r0 - r1)
                   - 0.1 * mean(log p(next token)); gradients of the adapters and the head;
                   10 AdamW steps.

Everything is float32, 1 thread, plain attention formula. Tokens are stored as F32 (exact).

  python3 Tests/Fixtures/make_gpt_fixture.py                 # (re)write the fixtures
  python3 Tests/Fixtures/make_gpt_fixture.py --check DIR     # load an Anneal checkpoint DIR in
        PyTorch and compare its logits with DIR/logits.safetensors (written by Anneal)

Without torch on the path the script creates /tmp/annealref (venv) and re-runs itself there.
"""
import json
import math
import os
import subprocess
import sys

VENV = "/tmp/annealref"
try:
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file
except ImportError:
    if sys.prefix == VENV:
        raise
    if not os.path.exists(VENV + "/bin/python"):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([VENV + "/bin/pip", "install", "-q", "torch", "safetensors", "numpy"])
    os.execv(VENV + "/bin/python", [VENV + "/bin/python"] + sys.argv)

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4)
B, T = 2, 16
STEPS, LR, WD, CLIP = 10, 1e-2, 0.1, 1.0
LORA = dict(r=4, lora_alpha=8.0, lora_dropout=0.0, target_modules=["attn.c_attn", "mlp.c_proj"])


def param_specs(cfg, scalar_head):
    """Names, shapes and weight-decay flags in Anneal's storage order."""
    C, V, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"]
    specs = [("wte.weight", [V, C], True), ("wpe.weight", [cfg["n_positions"], C], True)]
    for l in range(L):
        p = f"h.{l}."
        specs += [(p + "ln_1.weight", [C], False), (p + "ln_1.bias", [C], False),
                  (p + "attn.c_attn.weight", [C, 3 * C], True), (p + "attn.c_attn.bias", [3 * C], False),
                  (p + "attn.c_proj.weight", [C, C], True), (p + "attn.c_proj.bias", [C], False),
                  (p + "ln_2.weight", [C], False), (p + "ln_2.bias", [C], False),
                  (p + "mlp.c_fc.weight", [C, 4 * C], True), (p + "mlp.c_fc.bias", [4 * C], False),
                  (p + "mlp.c_proj.weight", [4 * C, C], True), (p + "mlp.c_proj.bias", [C], False)]
    specs += [("ln_f.weight", [C], False), ("ln_f.bias", [C], False)]
    if scalar_head:
        specs.append(("score.weight", [1, C], True))
    return specs


def init_params(cfg, scalar_head, gen):
    """Random weights with non-trivial biases and norm weights, so every gradient path is live."""
    out = {}
    for name, shape, decays in param_specs(cfg, scalar_head):
        if decays:
            t = torch.randn(shape, generator=gen) * 0.1
        elif name.endswith("weight"):  # LayerNorm gains
            t = 1 + 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.05 * torch.randn(shape, generator=gen)
        out[name] = t.float().contiguous()
    return out


def lora_specs(cfg):
    C, r = cfg["n_embd"], LORA["r"]
    dims = {"attn.c_attn": (C, 3 * C), "mlp.c_proj": (4 * C, C)}
    specs = []
    for l in range(cfg["n_layer"]):
        for layer in ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]:
            if layer in LORA["target_modules"]:
                i, o = dims[layer]
                specs += [(f"h.{l}.{layer}.lora_A.weight", [r, i]), (f"h.{l}.{layer}.lora_B.weight", [o, r])]
    return specs


def hidden_states(P, tokens, cfg, lora=None):
    """GPT-2 forward to ln_f. P: name -> tensor; Conv1D weights are [in, out]."""
    Bn, Tn = tokens.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    hs = C // H

    def proj(name, x):
        y = x @ P[name + ".weight"] + P[name + ".bias"]
        if lora is not None and name + ".lora_A.weight" in lora:
            scale = LORA["lora_alpha"] / LORA["r"]
            y = y + scale * (x @ lora[name + ".lora_A.weight"].t()) @ lora[name + ".lora_B.weight"].t()
        return y

    x = P["wte.weight"][tokens] + P["wpe.weight"][torch.arange(Tn)]
    mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], 1e-5)
        q, k, v = proj(p + "attn.c_attn", h).split(C, dim=2)
        q, k, v = (t.view(Bn, Tn, H, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(Bn, Tn, C)
        x = x + proj(p + "attn.c_proj", y)
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], 1e-5)
        x = x + proj(p + "mlp.c_proj", F.gelu(proj(p + "mlp.c_fc", h), approximate="tanh"))
    return F.layer_norm(x, (C,), P["ln_f.weight"], P["ln_f.bias"], 1e-5)


def weighted_ce(logits, targets, weights):
    nll = F.cross_entropy(logits, targets, ignore_index=-100, reduction="none")
    keep = (targets != -100).float()
    w = weights * keep
    return (nll * w).sum() / w.sum()


def save_dir(path, cfg, params, extra_meta, lora=None):
    os.makedirs(path, exist_ok=True)
    full = dict(cfg, n_ctx=cfg["n_positions"], model_type="gpt2", resid_pdrop=0.0, embd_pdrop=0.0,
                attn_pdrop=0.0, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                tie_word_embeddings=True, architectures=["GPT2LMHeadModel"])
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(full, f, indent=2, sort_keys=True)
    save_file({k: v.detach().contiguous() for k, v in params.items()},
              os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    if lora is not None:
        with open(os.path.join(path, "adapter_config.json"), "w") as f:
            json.dump(LORA, f, indent=2, sort_keys=True)
        save_file({k: v.detach().contiguous() for k, v in lora.items()},
                  os.path.join(path, "adapter_model.safetensors"),
                  metadata={"format": "pt", "anneal.format": "lora", "anneal.format_version": "1"})


def adamw(trainable, decays):
    groups = [{"params": [p for n, p in trainable.items() if decays[n]], "weight_decay": WD},
              {"params": [p for n, p in trainable.items() if not decays[n]], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.999), eps=1e-8, foreach=False)


def make_plain(gen):
    cfg = CONFIG
    P = init_params(cfg, False, gen)
    save_dir(os.path.join(HERE, "gpt"), cfg, P, {})
    tokens = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
    targets = torch.roll(tokens, -1, dims=1).clone()
    targets[:, -1] = -100
    targets[0, 3] = -100
    weights = 0.5 + torch.rand(B * T, generator=gen)
    params = {k: v.clone().requires_grad_(True) for k, v in P.items()}

    def loss_fn():
        logits = hidden_states(params, tokens, cfg) @ params["wte.weight"].t()
        logits = logits.view(B * T, -1)
        return logits, weighted_ce(logits, targets.view(-1), weights)

    logits, loss = loss_fn()
    loss.backward()
    expected = {"tokens": tokens.float(), "targets": targets.float(), "weights": weights,
                "logits": logits.detach(), "loss": loss.detach().view(1)}
    expected.update({"grad." + k: v.grad.clone() for k, v in params.items()})
    decays = {n: d for n, _, d in param_specs(cfg, False)}
    opt = adamw(params, decays)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        _, loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
        opt.step()
        losses.append(loss.item())
    expected["losses"] = torch.tensor(losses)
    save_file(expected, os.path.join(HERE, "gpt", "expected.safetensors"),
              metadata={"batch": str(B), "lr": str(LR), "weight_decay": str(WD), "clip": str(CLIP)})
    return losses


def make_lora_score(gen):
    cfg = CONFIG
    P = init_params(cfg, True, gen)
    lora = {n: (0.1 * torch.randn(s, generator=gen)).float() for n, s in lora_specs(cfg)}
    save_dir(os.path.join(HERE, "gpt_lora_score"), cfg, P, {}, lora)
    pad = 0
    tokens = torch.randint(1, cfg["vocab_size"], (B, T), generator=gen)
    tokens[1, 11:] = pad  # row 1 is padded; its scalar is read at position 10
    last = [T - 1, 10]
    next_tokens = torch.roll(tokens, -1, dims=1).clone()
    next_tokens[:, -1] = -100
    next_tokens[1, 10:] = -100
    base = {k: v.clone() for k, v in P.items()}
    trainable = {k: v.clone().requires_grad_(True) for k, v in lora.items()}
    trainable["score.weight"] = base.pop("score.weight").requires_grad_(True)

    def loss_fn():
        both = dict(base, **trainable)
        h = hidden_states(both, tokens, cfg, lora=trainable)
        r = torch.stack([h[b, last[b]] @ trainable["score.weight"][0] for b in range(B)])
        logits = (h @ both["wte.weight"].t()).view(B * T, -1)
        tgt = next_tokens.view(-1)
        logp = torch.where(tgt != -100,
                           logits.log_softmax(-1).gather(1, tgt.clamp(min=0)[:, None])[:, 0],
                           torch.zeros(()))
        loss = -F.logsigmoid(r[0] - r[1]) - 0.1 * logp.mean()
        return r, loss

    r, loss = loss_fn()
    loss.backward()
    expected = {"tokens": tokens.float(), "next_tokens": next_tokens.float(),
                "last": torch.tensor(last).float(), "scalars": r.detach(), "loss": loss.detach().view(1)}
    expected.update({"grad." + k: v.grad.clone() for k, v in trainable.items()})
    opt = adamw(trainable, {n: True for n in trainable})
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        _, loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(trainable.values()), CLIP)
        opt.step()
        losses.append(loss.item())
    expected["losses"] = torch.tensor(losses)
    save_file(expected, os.path.join(HERE, "gpt_lora_score", "expected.safetensors"),
              metadata={"batch": str(B), "pad": str(pad), "lr": str(LR), "weight_decay": str(WD), "clip": str(CLIP)})
    return losses


def check(directory):
    """Load an Anneal checkpoint in PyTorch; compare logits with the ones Anneal wrote."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    P = load_file(os.path.join(directory, "model.safetensors"))
    ref = load_file(os.path.join(directory, "logits.safetensors"))
    tokens = ref["tokens"].long()
    logits = (hidden_states(P, tokens, cfg) @ P["wte.weight"].t()).view(-1, cfg["vocab_size"])
    err = (logits - ref["logits"]).abs().max().item()
    scale = ref["logits"].abs().max().item()
    print(f"checkpoint {directory}: max |logits - anneal| = {err:.3g} (max |logit| {scale:.3g})")
    if err > 1e-4 * max(scale, 1.0):
        sys.exit("FAIL: PyTorch logits differ from Anneal's")
    print("OK: PyTorch reproduces Anneal's logits from its checkpoint")
    try:
        from transformers import GPT2LMHeadModel
    except ImportError:
        print("(transformers not installed: skipping the GPT2LMHeadModel.from_pretrained check)")
        return
    hf = GPT2LMHeadModel.from_pretrained(directory).eval()
    with torch.no_grad():
        out = hf(tokens).logits.reshape(-1, cfg["vocab_size"])
    err = (out - ref["logits"]).abs().max().item()
    print(f"transformers GPT2LMHeadModel.from_pretrained: max |logits - anneal| = {err:.3g}")
    if err > 1e-4 * max(scale, 1.0):
        sys.exit("FAIL: transformers' logits differ from Anneal's")


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        gen = torch.Generator().manual_seed(1234)
        print("gpt losses:", make_plain(gen))
        print("gpt_lora_score losses:", make_lora_score(gen))
