#!/usr/bin/python3
"""Parity of featreuse's DeiT and Swin with timm (the issue-3 acceptance test).

Usage: timm_parity.py --featreuse BIN --workdir DIR [--timm PATH] [--cases NAME...]

timm is not a Debian package: when `import timm` fails (after putting --timm or
$FEATREUSE_TIMM_PATH, a source checkout such as timm v0.9.16, first on
sys.path) the script prints SKIP and exits 77 (CTest SKIP_RETURN_CODE).

For each case it builds the timm model with random weights under a fixed seed
(LayerNorm affine, biases, cls/pos tokens and the relative position tables are
randomised too, so they all matter), runs a fixed input in eval mode and
records the logits and the probe activations (reference §7.0):
  patch_embed         timm's PatchEmbed output, as (B, tokens, C)
  blocks.i.attn/.mlp  DeiT: forward-hook outputs of the Attention / Mlp
                      modules, the residual branches before the add
  layers.s.blocks.b.attn  Swin: the output of SwinTransformerBlock._attn (the
                      window attention mapped back to image token order,
                      before drop path and the add), as (B, L, C)
  layers.s.blocks.b.mlp   Swin: forward-hook output of the Mlp
  head                the logits
It writes the weights as .safetensors (numpy + json here: 8-byte LE header
length, JSON header, raw bytes; independent of featreuse's writer) and as
.pth (torch.save). Swin weights are written in timm's layout (downsample at the
start of the next stage, head.fc, no buffers) and, converted here, in the
official Microsoft layout (downsample at the end of a stage, head, with the
relative_position_index and attn_mask buffers). Then, per weight file:
  featreuse weights import FILE --model M --out imported.safetensors --keep-head
  featreuse features --model M --weights imported.safetensors --input X.npy
                     --probes all --out features.h5
and checks every tensor: max|ours - timm| <= 1e-4 * max|timm|. The 5-block
DeiT-S case imports the full 12-block DeiT-S files (blocks 5-11 are dropped).
For Swin it also checks that the token mean of each attn probe equals the
token mean of timm's WindowAttention output (what the reference's k-NN uses)
for blocks without padding.
Prints the largest relative error per case and probe kind; exits 1 on failure.
"""
import argparse
import json
import os
import subprocess
import sys

TOLERANCE = 1e-4
SEED = 20220601


def import_timm(path):
    for p in (path, os.environ.get("FEATREUSE_TIMM_PATH")):
        if p:
            sys.path.insert(0, p)
    try:
        import timm  # noqa: F401
        import h5py  # noqa: F401
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except Exception as e:  # ImportError, or timm failing with this torch
        print(f"SKIP: timm parity needs timm, torch, numpy and h5py ({type(e).__name__}: {e})")
        sys.exit(77)
    return timm


# name: (timm constructor kwargs, featreuse model (config name, or a config
# written to the workdir), input sides, input channels, layout)
def cases(timm):
    from timm.models.swin_transformer import SwinTransformer
    from timm.models.vision_transformer import VisionTransformer

    def create(name, **kw):
        return lambda: timm.create_model(name, pretrained=False, **kw)

    return {
        "deit_small": dict(make=create("deit_small_patch16_224", num_classes=10),
                           model="deit_small", sides=[224], family="deit"),
        # Other input sizes resample pos_embed (timm: dynamic_img_size).
        "deit_tiny": dict(make=create("deit_tiny_patch16_224", num_classes=10,
                                      dynamic_img_size=True),
                          model="deit_tiny", sides=[224, 96, 288], family="deit"),
        # The truncated DeiT (App. I): the weight files hold the full 12-block
        # DeiT-S; featreuse drops blocks 5-11 on import, as the reference does.
        "deit_small5b": dict(make=create("deit_small_patch16_224", num_classes=10, depth=5),
                             full=create("deit_small_patch16_224", num_classes=10),
                             model="deit_small5b", sides=[224], family="deit"),
        "deit_micro": dict(make=lambda: VisionTransformer(
            img_size=28, patch_size=4, embed_dim=64, depth=4, num_heads=4, num_classes=10,
            dynamic_img_size=True), model="deit_micro", sides=[28, 32], family="deit"),
        "swin_tiny": dict(make=create("swin_tiny_patch4_window7_224", num_classes=10),
                          model="swin_tiny", sides=[224], family="swin"),
        "swin_micro": dict(make=lambda: SwinTransformer(
            img_size=28, patch_size=2, embed_dim=32, depths=(2, 2), num_heads=(2, 4),
            window_size=7, num_classes=10), model="swin_micro", sides=[28], family="swin"),
        # 1 channel; grids 20/10/5 with window 7: padding, then a clamped window.
        "swin_padded_1ch": dict(make=lambda: SwinTransformer(
            img_size=40, patch_size=2, in_chans=1, embed_dim=16, depths=(2, 2, 2),
            num_heads=(2, 4, 8), window_size=7, num_classes=5),
            model=dict(arch="swin", image_size=40, gflops=0.01,
                       options=dict(patch_size=2, embed_dim=16, depths=[2, 2, 2],
                                    num_heads=[2, 4, 8], window_size=7)),
            sides=[40], family="swin", channels=1),
    }


def randomise(model):
    import torch
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.normal_(0.0, 1.0)
            elif name in ("cls_token", "pos_embed"):
                p.normal_(0.0, 0.5)
            elif p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.05)
    return model.eval()


def probe_hooks(model, family, captured):
    """Registers the captures; returns (probe names in network order, undo)."""
    import torch
    hooks, undo, names = [], [], ["patch_embed"]

    def save(name, transform=lambda t: t):
        return lambda _m, _i, out: captured.__setitem__(name, transform(out).detach().clone())

    tokens = lambda t: t.reshape(t.shape[0], -1, t.shape[-1])  # NHWC or (B,N,C) -> (B,N,C)
    hooks.append(model.patch_embed.register_forward_hook(save("patch_embed", tokens)))
    if family == "deit":
        for i, blk in enumerate(model.blocks):
            for part in ("attn", "mlp"):
                names.append(f"blocks.{i}.{part}")
                hooks.append(getattr(blk, part).register_forward_hook(save(names[-1])))
    else:
        for s, stage in enumerate(model.layers):
            for b, blk in enumerate(stage.blocks):
                base = f"layers.{s}.blocks.{b}"
                original = blk._attn

                def wrapped(x, original=original, name=base + ".attn"):
                    out = original(x)
                    captured[name] = tokens(out).detach().clone()
                    return out
                blk._attn = wrapped
                undo.append(lambda blk=blk: delattr(blk, "_attn"))
                # What the reference's k-NN hooks: WindowAttention's output.
                hooks.append(blk.attn.register_forward_hook(save(base + ".window_attn")))
                names += [base + ".attn", base + ".mlp"]
                hooks.append(blk.mlp.register_forward_hook(save(names[-1])))
    names.append("head")
    hooks.append(model.head.register_forward_hook(save("head")))

    def remove():
        for h in hooks:
            h.remove()
        for u in undo:
            u()
    return names, remove


def timm_to_official(sd, model):
    """timm >= 0.9 Swin state_dict -> the official checkpoint's names and buffers."""
    import re
    out = {}
    for k, v in sd.items():
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        if m:
            k = f"layers.{int(m.group(1)) - 1}.downsample.{m.group(2)}"
        if k.startswith("head.fc."):
            k = "head." + k[len("head.fc."):]
        out[k] = v
    for s, stage in enumerate(model.layers):
        for b, blk in enumerate(stage.blocks):
            out[f"layers.{s}.blocks.{b}.attn.relative_position_index"] = \
                blk.attn.relative_position_index.clone()
            if blk.attn_mask is not None:
                out[f"layers.{s}.blocks.{b}.attn_mask"] = blk.attn_mask.clone()
    return out




def write_model_config(path, cfg):
    with open(path, "w") as f:
        f.write(f"arch: {cfg['arch']}\nimage_size: {cfg['image_size']}\ngflops: {cfg['gflops']}\n"
                f"options: {json.dumps(cfg['options'])}\n")


class CommandFailed(Exception):
    pass


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(res.stdout, end="")
    if res.returncode != 0:
        raise CommandFailed(f"{os.path.basename(cmd[0])} {cmd[1]} failed with exit code "
                            f"{res.returncode}: {res.stdout.strip().splitlines()[-1:]}")


def kind(probe):
    return probe.rsplit(".", 1)[-1] if "." in probe else probe


def relative_error(ours, ref):
    import numpy as np
    scale = float(np.abs(ref).max())
    err = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())
    return err / scale if scale > 0 else err


def check_case(name, spec, args, worst, failures):
    import h5py
    import numpy as np
    import torch
    from safetensors_io import write_safetensors

    work = os.path.join(args.workdir, name)
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(SEED)
    if "full" in spec:
        full_sd = randomise(spec["full"]()).state_dict()
        model = spec["make"]().eval()
        depth = len(model.blocks)
        model.load_state_dict({k: v for k, v in full_sd.items()
                               if not (k.startswith("blocks.") and int(k.split(".")[1]) >= depth)})
    else:
        model = randomise(spec["make"]())
        full_sd = model.state_dict()
    family, channels = spec["family"], spec.get("channels", 3)
    model_arg = spec["model"]
    if isinstance(model_arg, dict):
        path = os.path.join(work, "model.yaml")
        write_model_config(path, model_arg)
        model_arg = path

    sd = dict(full_sd)
    files = [("timm.safetensors", sd), ("timm.pth", sd)]
    if family == "swin":
        files.append(("official.pth", timm_to_official(sd, model)))
        files.append(("official.safetensors", timm_to_official(sd, model)))
    for fname, state in files:
        if fname.endswith(".pth"):
            torch.save(state, os.path.join(work, fname))
        else:
            write_safetensors(os.path.join(work, fname), state)

    for side in spec["sides"]:
        x = torch.randn(2, channels, side, side)
        xin = os.path.join(work, f"input_{side}.npy")
        np.save(xin, x.numpy())
        captured = {}
        probes, remove = probe_hooks(model, family, captured)
        with torch.no_grad():
            logits = model(x).numpy()
        remove()
        for fname, _ in files:
            tag = f"{name}@{side} from {fname}"
            imported = os.path.join(work, f"imported_{fname}.safetensors")
            h5 = os.path.join(work, f"features_{side}_{fname}.h5")
            try:
                if side == spec["sides"][0]:
                    run([args.featreuse, "weights", "import", os.path.join(work, fname),
                         "--model", model_arg, "--out", imported, "--keep-head",
                         "--num-classes", str(model.num_classes), "--in-channels", str(channels)])
                run([args.featreuse, "features", "--model", model_arg, "--weights", imported,
                     "--input", xin, "--probes", "all", "--out", h5, "--threads", "2",
                     "--num-classes", str(model.num_classes)])
            except CommandFailed as e:
                failures.append(f"{tag}: {e}")
                continue
            with h5py.File(h5, "r") as f:
                stored = [n.decode() if isinstance(n, bytes) else n for n in f["probe_names"][()]]
                if stored != probes:
                    failures.append(f"{tag}: probe points {stored} != timm's {probes}")
                    continue
                results = [("logits", f["logits"][()], logits)]
                results += [(p, f["probes"][p][()], captured[p].numpy()) for p in probes]
                for p, ours, ref in results:
                    if ours.shape != ref.shape:
                        failures.append(f"{tag} {p}: shape {ours.shape} != timm {ref.shape}")
                        continue
                    rel = relative_error(ours, ref)
                    key = (name, kind(p))
                    worst[key] = max(worst.get(key, 0.0), rel)
                    if rel > TOLERANCE:
                        failures.append(f"{tag} {p}: relative error {rel:.3e} > {TOLERANCE}")
                if family == "swin":
                    # Reference k-NN feature: token mean of WindowAttention's
                    # output; equal to ours where a block has no padding.
                    for p in probes:
                        if not p.endswith(".attn"):
                            continue
                        win = captured[p.replace(".attn", ".window_attn")]
                        ours = f["probes"][p][()]
                        if win.shape[0] * win.shape[1] != ours.shape[0] * ours.shape[1]:
                            continue  # padded windows
                        ref = win.reshape(ours.shape[0], -1, ours.shape[2]).mean(1).numpy()
                        rel = relative_error(ours.mean(1), ref)
                        key = (name, "attn token mean vs WindowAttention")
                        worst[key] = max(worst.get(key, 0.0), rel)
                        if rel > TOLERANCE:
                            failures.append(f"{tag} {p}: token mean differs from timm's "
                                            f"WindowAttention output ({rel:.3e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--featreuse", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--timm", help="path to put first on sys.path (a timm source checkout)")
    ap.add_argument("--cases", nargs="*", help="subset of cases (default: all)")
    args = ap.parse_args()
    timm = import_timm(args.timm)
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    print(f"timm {timm.__version__} from {os.path.dirname(timm.__file__)}, torch {torch.__version__}")

    all_cases = cases(timm)
    chosen = args.cases or list(all_cases)
    unknown = [c for c in chosen if c not in all_cases]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; known: {sorted(all_cases)}")
    worst, failures = {}, []
    for name in chosen:
        check_case(name, all_cases[name], args, worst, failures)

    print("\nlargest relative error (max|ours - timm| / max|timm|) per case and probe kind:")
    for (case, k), rel in sorted(worst.items()):
        print(f"  {case:<18} {k:<36} {rel:.3e}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"all {len(chosen)} cases agree with timm within {TOLERANCE} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
