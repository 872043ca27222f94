#!/usr/bin/python3
"""Loads an `acgan export` folder with plain PyTorch and draws a class-by-row grid with matplotlib:
the TorchScript generator (DIR/generator.pt, from --torchscript) when there is one, else gen.pt
loaded into the original script's Generator, defined below as the original defines it.

Usage: scripts/load_in_python.py DIR [--n 8] [--seed 0] [--out grid.png]
       (needs python3-torch and python3-matplotlib)
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn


class Generator(nn.Module):
    """The original script's generator: Linear(nz, 384), then four transposed convolutions."""

    def __init__(self, nz, num_classes):
        super().__init__()
        self.nz, self.num_classes = nz, num_classes
        self.fc1 = nn.Linear(nz, 384)

        def up(cin, cout, stride, padding, last=False):
            layers = [nn.ConvTranspose2d(cin, cout, 4, stride, padding)]
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(True)]
            return nn.Sequential(*layers)

        self.conv1, self.conv2 = up(384, 192, 1, 0), up(192, 96, 2, 1)
        self.conv3, self.conv4 = up(96, 48, 2, 1), up(48, 3, 2, 1, last=True)

    def forward(self, z, classes):  # as generator.pt: the one-hot class in z, metadata["noise"]
        z = z.view(-1, self.nz).clone()
        z[:, :self.num_classes] = nn.functional.one_hot(classes, self.num_classes).float()
        x = self.fc1(z).view(-1, 384, 1, 1)
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


def load(folder, metadata):
    script = os.path.join(folder, "generator.pt")
    if os.path.exists(script):
        return torch.jit.load(script), "generator.pt (TorchScript)"
    if metadata.get("arch", "cifar") != "cifar":
        sys.exit(f"load_in_python: error: an --arch {metadata['arch']} G: export it with "
                 "--torchscript")
    if metadata.get("spectral_norm", "none") == "both":
        sys.exit("load_in_python: error: a spectrally normalised G: export it with --torchscript")
    g = Generator(metadata["nz"], metadata["num_classes"])
    g.load_state_dict(torch.load(os.path.join(folder, "gen.pt"), weights_only=True), strict=True)
    return g.eval(), "gen.pt in the original's Generator"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=8, help="samples per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="grid.png")
    args = parser.parse_args()
    try:
        with open(os.path.join(args.folder, "metadata.json")) as f:
            metadata = json.load(f)
    except OSError as e:
        sys.exit(f"load_in_python: error: {args.folder}/metadata.json: {e.strerror}")
    g, how = load(args.folder, metadata)
    classes, nz = metadata["num_classes"], metadata["nz"]
    torch.manual_seed(args.seed)
    labels = torch.arange(classes).repeat_interleave(args.n)
    z = torch.randn(len(labels), nz)
    with torch.no_grad():
        images = g(z, labels)
    images = (images.clamp(-1, 1) + 1) / 2  # (N, C, H, W) in [0, 1]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(classes, args.n, figsize=(args.n, classes * 1.05))
    for i, ax in enumerate(axes.flat):
        cell = images[i].permute(1, 2, 0)  # (H, W, C); grey images drawn as grey
        ax.imshow(cell.squeeze(2).numpy() if cell.size(2) == 1 else cell.numpy(), cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        if i % args.n == 0:
            ax.set_ylabel(metadata["class_names"][i // args.n], rotation=0, ha="right", va="center")
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    print(f"wrote {args.out} from {how}: {classes} classes x {args.n}")


if __name__ == "__main__":
    main()
