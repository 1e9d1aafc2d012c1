#!/usr/bin/env python3
"""Writes testing/head/schedules.json: the learning rate at every optimizer step under each of UER-py
HEAD's --scheduler choices, computed by HEAD's own uer/utils/optimizers.py and torch's LambdaLR
stepped as HEAD's trainer steps it (optimizer.step(), then scheduler.step()), with the step counts
HEAD's init_optimizer passes (total_steps * warmup, total_steps * lr_decay: floats).

Usage: .venv/bin/python testing/head/make_schedules.py --uer_path /path/to/UER-py@5743050
"""
import argparse
import importlib.util
import json
import os

import torch

CASES = [  # (total_steps, warmup, lr_decay, learning_rate)
    (100, 0.1, 0.5, 2e-5),
    (37, 0.25, 0.3, 1e-4),
    (10, 0.0, 0.5, 5e-4),
]
SCHEDULERS = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "tri_stage"]


def Rates(str2scheduler, name, total, warmup, lr_decay, lr):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    if name == "constant":
        scheduler = str2scheduler[name](optimizer)
    elif name == "constant_with_warmup":
        scheduler = str2scheduler[name](optimizer, total * warmup)
    elif name == "tri_stage":
        scheduler = str2scheduler[name](optimizer, total * warmup, total * lr_decay, total)
    else:
        scheduler = str2scheduler[name](optimizer, total * warmup, total)
    rates = []
    for _ in range(total + 3):  # a few steps past the end too
        rates.append(optimizer.param_groups[0]["lr"])  # what this optimizer step uses
        optimizer.step()
        scheduler.step()
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uer_path", required=True)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "schedules.json"))
    args = parser.parse_args()
    path = os.path.join(args.uer_path, "uer", "utils", "optimizers.py")
    spec = importlib.util.spec_from_file_location("head_optimizers", path)
    head = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(head)
    str2scheduler = {"linear": head.get_linear_schedule_with_warmup, "cosine": head.get_cosine_schedule_with_warmup,
                     "cosine_with_restarts": head.get_cosine_with_hard_restarts_schedule_with_warmup,
                     "polynomial": head.get_polynomial_decay_schedule_with_warmup,
                     "constant": head.get_constant_schedule,
                     "constant_with_warmup": head.get_constant_schedule_with_warmup,
                     "inverse_sqrt": head.get_inverse_square_root_schedule_with_warmup,
                     "tri_stage": head.get_tri_stage_schedule}
    out = []
    for total, warmup, lr_decay, lr in CASES:
        for name in SCHEDULERS:
            case = {"scheduler": name, "total_steps": total, "warmup": warmup, "lr_decay": lr_decay,
                    "learning_rate": lr}
            try:
                case["rates"] = Rates(str2scheduler, name, total, warmup, lr_decay, lr)
            except ZeroDivisionError as e:  # inverse_sqrt without warmup: 0 ** -0.5 at step 0
                case["error"] = str(e)
            out.append(case)
    with open(args.output, "w") as f:
        json.dump({"made_by": "testing/head/make_schedules.py from UER-py's uer/utils/optimizers.py",
                   "cases": out}, f, indent=1)
        f.write("\n")
    print("wrote", args.output, len(out), "cases")


if __name__ == "__main__":
    main()
