#!/usr/bin/env python3
"""PyTorch reference values for AnnealTrain's losses (Tests/AnnealTrainTests/LossFixtureTests).

Writes two fixture directories next to this script, each an Anneal-loadable checkpoint
(config.json + model.safetensors) plus expected.safetensors, using the GPT-2 forward of
make_gpt_fixture.py (same tiny architecture, float32, 1 thread):

  sft_loss/     tokens [B, T] and targets with -100 on prompt and padding positions (the
                SFT mask), loss = mean over kept targets of -log p(target), and the gradient
                of every parameter.
  reward_loss/  a scalar head; chosen rows then rejected rows [2B, T], right-padded with 0,
                rewards read at each row's last real token (last [2B]), per-pair margins;
                loss = mean(-logsigmoid(r_chosen - r_rejected - margin)), the rewards, and
                the gradient of every parameter.

  python3 Tests/Fixtures/make_train_fixtures.py

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


def make_sft(gen):
    cfg = CONFIG
    P = init_params(cfg, False, gen)
    save_dir(os.path.join(HERE, "sft_loss"), cfg, P, {})
    tokens = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
    targets = torch.roll(tokens, -1, dims=1).clone()
    targets[:, -1] = -100
    targets[0, :3] = -100   # the prompt of row 0
    targets[1, :5] = -100   # a longer prompt in row 1
    targets[1, 7] = -100    # padding
    params = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    logits = (hidden_states(params, tokens, cfg) @ params["wte.weight"].t()).view(B * T, -1)
    loss = F.cross_entropy(logits, targets.view(-1), ignore_index=-100)
    loss.backward()
    expected = {"tokens": tokens.float(), "targets": targets.float(), "loss": loss.detach().view(1)}
    expected.update({"grad." + k: v.grad.clone() for k, v in params.items()})
    save_file(expected, os.path.join(HERE, "sft_loss", "expected.safetensors"), metadata={"batch": str(B)})
    return loss.item()


def make_reward(gen):
    cfg = CONFIG
    P = init_params(cfg, True, gen)
    save_dir(os.path.join(HERE, "reward_loss"), cfg, P, {})
    tokens = torch.randint(1, cfg["vocab_size"], (2 * B, T), generator=gen)
    last = [T - 1, 4, 6, T - 1]         # chosen 0, chosen 1, rejected 0, rejected 1
    for row, t in enumerate(last):
        tokens[row, t + 1:] = 0
    margins = torch.tensor([0.0, 0.5])
    params = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    h = hidden_states(params, tokens, cfg)
    r = torch.stack([h[row, last[row]] @ params["score.weight"][0] for row in range(2 * B)])
    loss = -F.logsigmoid(r[:B] - r[B:] - margins).mean()
    loss.backward()
    expected = {"tokens": tokens.float(), "last": torch.tensor(last).float(), "margins": margins,
                "rewards": r.detach(), "loss": loss.detach().view(1)}
    expected.update({"grad." + k: v.grad.clone() for k, v in params.items()})
    save_file(expected, os.path.join(HERE, "reward_loss", "expected.safetensors"), metadata={"pairs": str(B)})
    return loss.item()


if __name__ == "__main__":
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(99)
    print("sft loss:", make_sft(gen))
    print("reward loss:", make_reward(gen))
