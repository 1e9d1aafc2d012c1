#!/usr/bin/env python3
"""Writes testing/head/optimizers.json: parameters after each step of UER-py HEAD's --optimizer adamw
and adafactor, built by HEAD's own uer.trainer.init_optimizer (its weight-decay groups, AdamW with
correct_bias=False, Adafactor without relative steps or parameter scaling) with a scheduler, on a
few named parameters and fixed gradients (both in the file), stepped as HEAD's trainer steps them.

Usage: .venv/bin/python testing/head/make_optimizers.py --uer_path /path/to/UER-py@5743050
"""
import argparse
import json
import os
import sys
import warnings

import torch

STEPS = 6
SHAPES = [("embedding.word_embedding.weight", [5, 4]), ("encoder.linear.weight", [4, 4]),
          ("encoder.linear.bias", [4]), ("encoder.layer_norm.gamma", [4])]
CASES = [("adamw", "linear", 1e-2), ("adamw", "cosine", 3e-3), ("adafactor", "linear", 1e-2),
         ("adafactor", "constant", 5e-3)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uer_path", required=True)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizers.json"))
    args = parser.parse_args()
    output = os.path.abspath(args.output)
    sys.path.insert(0, os.path.abspath(args.uer_path))
    os.chdir(args.uer_path)  # HEAD's uer package reads models/special_tokens_map.json from the cwd
    from uer.trainer import init_optimizer  # HEAD's own
    warnings.simplefilter("ignore")  # Adafactor's deprecated add_(Number, Tensor)
    out = []
    for optimizer_name, scheduler_name, lr in CASES:
        gen = torch.Generator().manual_seed(7)
        model = torch.nn.Module()
        init = {}
        for name, shape in SHAPES:
            value = torch.randn(shape, generator=gen)
            init[name] = value.flatten().tolist()
            model.register_parameter(name.replace(".", "_"), torch.nn.Parameter(value.clone()))
        # init_optimizer reads the parameters' names: give it HEAD-style dotted ones.
        named = {name: getattr(model, name.replace(".", "_")) for name, _ in SHAPES}
        model.named_parameters = lambda: list(named.items())
        opts = argparse.Namespace(optimizer=optimizer_name, scheduler=scheduler_name, learning_rate=lr,
                                  total_steps=STEPS, warmup=0.2, lr_decay=0.5)
        optimizer, scheduler = init_optimizer(opts, model)
        steps = []
        for _ in range(STEPS):
            grads = {}
            for name, shape in SHAPES:
                g = torch.randn(shape, generator=gen)
                named[name].grad = g.clone()
                grads[name] = g.flatten().tolist()
            optimizer.step()
            scheduler.step()
            steps.append({"grads": grads, "params": {n: p.detach().flatten().tolist() for n, p in named.items()}})
        out.append({"optimizer": optimizer_name, "scheduler": scheduler_name, "learning_rate": lr,
                    "total_steps": STEPS, "warmup": 0.2, "shapes": dict(SHAPES), "init": init, "steps": steps})
    with open(output, "w") as f:
        json.dump({"made_by": "testing/head/make_optimizers.py with UER-py's uer.trainer.init_optimizer",
                   "cases": out}, f)
        f.write("\n")
    print("wrote", output, len(out), "cases")


if __name__ == "__main__":
    main()
