#!/usr/bin/env python3
"""PyTorch reference values for AnnealTrain's DPO loss (Tests/AnnealTrainTests/DPOTests).

Writes dpo_loss/ next to this script: an Anneal-loadable policy checkpoint (config.json +
model.safetensors, the tiny GPT-2 of make_gpt_fixture.py) and expected.safetensors with

  tokens, targets   chosen rows then rejected rows [2B, T]; targets are the next tokens with
                    -100 on the prompt and on padding (SFT's mask)
  counts            kept targets per row
  ref_chosen/ref_rejected   the frozen reference's log-likelihoods [B] (sums; means for ipo)
  loss.sigmoid, grad.sigmoid.<param>   -(1-eps)*logsigmoid(beta*D) - eps*logsigmoid(-beta*D),
                    averaged over pairs, beta = 0.5, eps = 0.1
  loss.ipo, grad.ipo.<param>   (D_mean - 1/(2*beta))^2 averaged over pairs, with per-token
                    mean log-likelihoods

where D = (logp(chosen) - ref_chosen) - (logp(rejected) - ref_rejected).

  python3 Tests/Fixtures/make_dpo_fixture.py

Without torch on the path it re-runs itself in the venv make_gpt_fixture.py creates.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gpt_fixture import CONFIG, HERE, hidden_states, init_params, save_dir  # noqa: E402  (venv bootstrap)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

B, T = 2, 8
BETA, EPS = 0.5, 0.1


def log_likelihoods(params, tokens, targets, cfg, mean):
    logits = hidden_states(params, tokens, cfg) @ params["wte.weight"].t()
    logp = F.log_softmax(logits, dim=-1)
    keep = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
    sums = picked.sum(dim=1)
    return sums / keep.sum(dim=1) if mean else sums


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7)
    cfg = CONFIG
    P = init_params(cfg, False, gen)
    out = os.path.join(HERE, "dpo_loss")
    save_dir(out, cfg, P, {})
    tokens = torch.randint(1, cfg["vocab_size"], (2 * B, T), generator=gen)
    targets = torch.roll(tokens, -1, dims=1).clone()
    targets[:, -1] = -100
    prompts = [3, 2, 3, 4]              # chosen 0, chosen 1, rejected 0, rejected 1
    pads = [0, 2, 1, 0]
    for row in range(2 * B):
        targets[row, :prompts[row]] = -100
        if pads[row]:
            tokens[row, T - pads[row]:] = 0
            targets[row, T - pads[row] - 1:] = -100
    counts = (targets != -100).sum(dim=1)
    expected = {"tokens": tokens.float(), "targets": targets.float(), "counts": counts.float()}
    for kind in ["sigmoid", "ipo"]:
        mean = kind == "ipo"
        ref = torch.randn(2 * B, generator=gen) * 0.5 + (-3.0 if mean else -12.0)
        params = {k: v.clone().requires_grad_(True) for k, v in P.items()}
        ll = log_likelihoods(params, tokens, targets, cfg, mean)
        d = (ll[:B] - ref[:B]) - (ll[B:] - ref[B:])
        if kind == "sigmoid":
            loss = (-(1 - EPS) * F.logsigmoid(BETA * d) - EPS * F.logsigmoid(-BETA * d)).mean()
        else:
            loss = ((d - 1 / (2 * BETA)) ** 2).mean()
        loss.backward()
        expected[f"ref_chosen.{kind}"] = ref[:B].clone()
        expected[f"ref_rejected.{kind}"] = ref[B:].clone()
        expected[f"loglik.{kind}"] = ll.detach()
        expected[f"loss.{kind}"] = loss.detach().view(1)
        expected.update({f"grad.{kind}.{k}": v.grad.clone() for k, v in params.items()})
        print(kind, "loss:", loss.item())
    save_file(expected, os.path.join(out, "expected.safetensors"),
              metadata={"pairs": str(B), "beta": str(BETA), "label_smoothing": str(EPS)})


if __name__ == "__main__":
    main()
