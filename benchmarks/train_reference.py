#!/usr/bin/python3
"""The PyTorch side of benchmarks/train.sh: images/s of an eager training step
(zero_grad, forward, cross-entropy, backward, clip_grad_norm_(1.0), Adam step,
loss.item() as the paper's code logs it) for the same architecture as a
featreuse model config, on one fixed random batch (no loader), after warm-up.

Usage: train_reference.py MODEL BATCH SIZE STEPS WARMUP THREADS [--timm PATH]
                          [--device cuda] [--amp] [--compile]
MODEL: resnet_small | resnet50 | inception_v3 | deit_micro | deit_small | swin_tiny (configs/models/).
--amp: bf16 autocast, and channels_last for the CNNs (the fastest eager setting on a GPU);
--compile: torch.compile of the model (PyTorch 2). Prints one JSON line.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision


class BasicBlock(nn.Module):
    """torchvision's BasicBlock with a 1x1 conv + BN shortcut where the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def resnet_small(classes):
    """configs/models/resnet_small.yaml: basic blocks [1,1,1,1], widths 16-128, 3x3/1 stem, no max-pool."""
    widths = [16, 32, 64, 128]
    layers = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    cin = widths[0]
    for i, w in enumerate(widths):
        layers.append(BasicBlock(cin, w, 1 if i == 0 else 2))
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def build(name, classes, timm_path):
    if name == "resnet_small":
        return resnet_small(classes)
    if name == "resnet50":
        return torchvision.models.resnet50(num_classes=classes)
    if name == "inception_v3":  # configs/models/inception_v3.yaml: no aux head, no transform_input
        return torchvision.models.inception_v3(num_classes=classes, aux_logits=False, transform_input=False,
                                               init_weights=False)
    if timm_path:
        sys.path.insert(0, timm_path)
    from timm.models.vision_transformer import VisionTransformer
    if name == "deit_micro":  # configs/models/deit_micro.yaml
        return VisionTransformer(img_size=28, patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=4.0,
                                 num_classes=classes)
    if name == "deit_small":
        return VisionTransformer(img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6,
                                 num_classes=classes)
    if name == "swin_tiny":  # drop-path 0.2 as configs/models/swin_tiny.yaml
        from timm.models.swin_transformer import SwinTransformer
        return SwinTransformer(img_size=224, patch_size=4, window_size=7, embed_dim=96, depths=(2, 2, 6, 2),
                               num_heads=(3, 6, 12, 24), drop_path_rate=0.2, num_classes=classes)
    sys.exit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    for a in ("model", "batch", "size", "steps", "warmup", "threads"):
        ap.add_argument(a)
    ap.add_argument("--timm", default="")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    cnn = args.model.startswith(("resnet", "inception"))
    memory_format = torch.channels_last if args.amp and cnn and device.type == "cuda" else torch.contiguous_format
    batch, size, steps, warmup, threads = (int(args.batch), int(args.size), int(args.steps), int(args.warmup),
                                           int(args.threads))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    classes = 10
    model = build(args.model, classes, args.timm).train().to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=memory_format)
    labels = torch.randint(0, classes, (batch,), device=device)
    forward = torch.compile(model) if args.compile else model

    def step():
        optimizer.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp and device.type == "cuda"):
            loss = nn.functional.cross_entropy(forward(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({"model": args.model, "batch": batch, "size": size, "steps": steps, "threads": threads,
                      "device": args.device, "amp": args.amp, "compile": args.compile,
                      "torch": torch.__version__, "images_per_s": batch * steps / seconds}))


if __name__ == "__main__":
    main()
