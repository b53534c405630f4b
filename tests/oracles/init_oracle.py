#!/usr/bin/python3
"""ST / WT-ST initialisation oracle (reference §2.1-§2.3) against torchvision.

Usage: init_oracle.py --checker BIN --model {resnet18,inception_v3} --workdir DIR

Reimplements the reference code's get_wt_state and cnn_init (utils/wtst.py of
ChrisMats/feature-reuse, written here from its behaviour) on Debian's
torchvision models (inception_v3 with aux_logits=False, transform_input=False),
with random weights and randomised BatchNorm parameters and running statistics
(so "copied" and "reset" differ). The one change to the reference: the normal
draws take a torch.Generator seeded with SEED (the reference is unseeded).

Checks, with BIN = init_oracle_check (tests/oracles/init_oracle_check.cpp):
 1. For every depth t of the model (-2 .. full WT), cnn_init with the Python
    ST dict gives a state whose every key is WT (the source's value), reset
    (BN 1/0/0/1/0) or ST (the ST dict's draw); featreuse's wtst_plan must
    classify every key identically, and featreuse's WT-ST with the same ST
    dict must give a bit-identical state.
 2. 1-channel networks (CheXpert, DDSM): the reference's modify_first_layer
    after cnn_init keeps channel 0 of the first conv; featreuse must give the
    same state bit for bit.
 3. featreuse's own ST draw with seed SEED must equal get_wt_state's with
    torch.Generator().manual_seed(SEED), bit for bit: same statistics, same
    draw order (named_modules), the rest copied.
Exits non-zero on any failure; never skips (CI has torchvision).
"""
import argparse
import copy
import json
import os
import subprocess
import sys

import torch
import torchvision
from torch import nn

from safetensors_io import read_safetensors, write_safetensors

SEED = 20220601
ST_SEED = 123456789012345  # the 64-bit seed of the ST draw

INCEPTION_GROUPS = {-1: ["Conv2d_1a_3x3"], 0: ["Conv2d_2a_3x3", "Conv2d_2b_3x3"], 1: ["Conv2d_3b_1x1"],
                    2: ["Conv2d_4a_3x3"], 3: ["Mixed_5b", "Mixed_5c", "Mixed_5d"],
                    4: ["Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"],
                    5: ["Mixed_7a", "Mixed_7b", "Mixed_7c"]}


# ---- the reference's initialisation, reimplemented ----
def sample_iid_gaussian(weight, generator):
    mean, std = torch.mean(weight), torch.std(weight)
    return torch.normal(mean=mean.item(), std=std.item(), size=weight.shape, generator=generator)


def init_bn_module(module):
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_parameters()


def get_wt_state(model, generator):
    orig_state = copy.deepcopy(model.state_dict())
    for layer in model.modules():
        if isinstance(layer, nn.LayerNorm):
            layer.reset_parameters()
    state = model.state_dict()
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            state[f"{name}.weight"] = sample_iid_gaussian(state[f"{name}.weight"], generator)
            if f"{name}.bias" in state:
                state[f"{name}.bias"] = sample_iid_gaussian(state[f"{name}.bias"], generator)
    state = copy.deepcopy(state)
    model.load_state_dict(orig_state)
    return state


def st_module(model, state, wt_state, path):
    """One module of an ST block: BNs reset in place, Conv2d tensors from the ST dict."""
    sub = model.get_submodule(path)
    init_bn_module(sub)
    for name, module in sub.named_modules():
        if isinstance(module, nn.Conv2d):
            prefix = f"{path}.{name}" if name else path
            state[f"{prefix}.weight"] = wt_state[f"{prefix}.weight"]
            if f"{prefix}.bias" in state:
                state[f"{prefix}.bias"] = wt_state[f"{prefix}.bias"]


def cnn_init(model, t, wt_state):
    state = model.state_dict()  # shares storage: in-place BN resets show up in it
    if isinstance(model, torchvision.models.ResNet):
        if t < -1:
            state["conv1.weight"] = wt_state["conv1.weight"]
        if t < 0:
            init_bn_module(model.bn1)
        for layer in range(1, 5):
            if layer > t:
                st_module(model, state, wt_state, f"layer{layer}")
    else:
        for group, blocks in INCEPTION_GROUPS.items():
            if group > t:
                for blk in blocks:
                    st_module(model, state, wt_state, blk)
    model.load_state_dict(state)


def modify_first_layer(state, first_conv):
    out = dict(state)
    out[first_conv] = state[first_conv].repeat(1, 4, 1, 1)[:, :1]
    return out


def build(name):
    torch.manual_seed(SEED)
    if name == "inception_v3":
        model = torchvision.models.inception_v3(weights=None, aux_logits=False, transform_input=False,
                                                init_weights=True)
        depths, first_conv = list(range(-2, 6)), "Conv2d_1a_3x3.conv.weight"
    else:
        model = getattr(torchvision.models, name)(weights=None)
        depths, first_conv = list(range(-2, 5)), "conv1.weight"
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    return model, depths, first_conv


def classify(state, source, st):
    """WT / reset / ST of every key of a cnn_init result, by value; exactly one must fit."""
    labels, problems = {}, []
    for key, value in state.items():
        fits = []
        if torch.equal(value, source[key]):
            fits.append("wt")
        if torch.equal(value, st[key]) and not torch.equal(st[key], source[key]):
            fits.append("st")
        leaf = key.rsplit(".", 1)[-1]
        if leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked") and value.dim() <= 1:
            reset = torch.ones_like(value) if leaf in ("weight", "running_var") else torch.zeros_like(value)
            if torch.equal(value, reset) and not torch.equal(reset, source[key]):
                fits.append("reset")
        if len(fits) != 1:
            problems.append(f"{key}: fits {fits or 'nothing'}")
        else:
            labels[key] = fits[0]
    return labels, problems


def run(cmd):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        print("$ " + " ".join(cmd))
        print(res.stdout, end="")
        raise SystemExit(f"command failed with exit code {res.returncode}")


def compare_states(label, ours, ref):
    problems = []
    if set(ours) != set(ref):
        problems.append(f"{label}: keys differ: only featreuse {sorted(set(ours) - set(ref))[:5]}, "
                        f"only reference {sorted(set(ref) - set(ours))[:5]}")
    for key in sorted(set(ours) & set(ref)):
        a, b = ours[key], ref[key]
        if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
            problems.append(f"{label}: {key} differs ({a.dtype} {tuple(a.shape)} vs {b.dtype} {tuple(b.shape)})")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checker", required=True)
    ap.add_argument("--model", required=True, choices=["resnet18", "inception_v3"])
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    work = os.path.join(args.workdir, args.model)
    os.makedirs(work, exist_ok=True)

    model, depths, first_conv = build(args.model)
    source_path = os.path.join(work, "source.safetensors")
    write_safetensors(source_path, model.state_dict())  # head included: featreuse drops it
    model.fc = nn.Identity()  # the reference's backbone: the head lives outside it
    source = copy.deepcopy(model.state_dict())

    generator = torch.Generator().manual_seed(ST_SEED)
    st = get_wt_state(model, generator)
    st_path = os.path.join(work, "st.safetensors")
    write_safetensors(st_path, st)

    failures = []
    # 3. featreuse's own draw equals the seeded reference draw.
    ours_st = os.path.join(work, "featreuse_st.safetensors")
    run([args.checker, "sample", "--model", args.model, "--source", source_path, "--seed", str(ST_SEED),
         "--out", ours_st])
    failures += compare_states("ST draw", read_safetensors(ours_st), st)
    sampled = sum(not torch.equal(st[k], source[k]) for k in st)
    print(f"{args.model}: ST draw: {len(st)} tensors, {sampled} sampled; featreuse's draw "
          f"{'differs' if failures else 'is bit-identical'}")
    os.remove(ours_st)

    # 1. and 2. every depth, 3 channels; ST and the first WT depth, 1 channel.
    for t in depths:
        model.load_state_dict(source)
        cnn_init(model, t, st)
        ref = copy.deepcopy(model.state_dict())
        labels, problems = classify(ref, source, st)
        failures += [f"reference t={t}: {p}" for p in problems]
        for channels in ([3, 1] if t <= -1 else [3]):
            out = os.path.join(work, f"state_t{t}_c{channels}.safetensors")
            plan = os.path.join(work, f"plan_t{t}_c{channels}.json")
            run([args.checker, "apply", "--model", args.model, "--channels", str(channels), "--source", source_path,
                 "--st", st_path, "--depth", str(t), "--out", out, "--plan", plan])
            with open(plan) as f:
                ours_labels = json.load(f)
            if ours_labels != labels:
                diff = [k for k in sorted(set(labels) | set(ours_labels)) if labels.get(k) != ours_labels.get(k)]
                failures.append(f"t={t} channels={channels}: {len(diff)} keys classified differently, e.g. " +
                                ", ".join(f"{k}: ours {ours_labels.get(k)} reference {labels.get(k)}"
                                          for k in diff[:5]))
            expected = ref if channels == 3 else modify_first_layer(ref, first_conv)
            failures += compare_states(f"t={t} channels={channels}", read_safetensors(out), expected)
            os.remove(out)
        counts = {c: sum(v == c for v in labels.values()) for c in ("wt", "st", "reset")}
        print(f"{args.model}: t={t:>2}: {counts['wt']} WT, {counts['st']} ST, {counts['reset']} reset "
              f"of {len(labels)} keys", flush=True)

    if failures:
        print(f"\n{len(failures)} FAILURES:")
        for f in failures[:40]:
            print("  " + f)
        sys.exit(1)
    for path in (source_path, st_path):  # large; kept only when a check failed
        os.remove(path)
    print(f"{args.model}: init oracle OK ({len(depths)} depths, keys classified identically, states bit-identical)")


if __name__ == "__main__":
    main()
