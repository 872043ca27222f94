#!/usr/bin/python3
"""PyTorch's numbers for acgan's mlp networks (--arch mlp), from the fully connected ACGAN itself
(../shared/golden/mlp_models.py), for tests/test_mlp_reference.cpp.

    write OUT   torch.manual_seed(0); both networks in float64 with Dropout off, as mlp_models.py's
                __main__. OUT/init_gen.pt and OUT/init_disc.pt: their initial state dicts.
                OUT/trajectory.pt, a plain dict: in.real (10, 8, 1, 32, 32), in.labels (10, 8),
                in.z (10, 8, 100), in.gen_labels (10, 8), drawn as __main__ draws them; losses
                (10, 2): d_loss, g_loss of each of ten train_step()s (Adam 2e-4, betas 0.5, 0.999);
                after.G.<key> and after.D.<key>: every tensor of both state dicts after the ten.
                OUT/gen.pt and OUT/disc.pt: float32 networks with BatchNorm1d's running statistics
                moved off their initial values; OUT/outputs.pt: z (4, 100), c (4), images = G(z, c)
                in eval mode.
    check EXPORT:OUT  loads an `acgan export` folder into MLPGenerator / MLPDiscriminator with
                strict=True; exits 0 when every tensor equals OUT's gen.pt and disc.pt bit for bit
                and EXPORT/generator.pt, where present, draws OUT/outputs.pt's images from its z
                and c; 1 naming what differs otherwise.

Usage: mlp_reference.py MLP_MODELS_PY write OUT | check EXPORT:OUT
"""
import importlib.util
import os
import sys

import torch
import torch.nn as nn

STEPS, BATCH = 10, 8


def load(path):
    spec = importlib.util.spec_from_file_location("mlp_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trajectory(models, out):
    torch.manual_seed(0)
    G, D = models.MLPGenerator().double(), models.MLPDiscriminator().double()
    for m in D.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    torch.save(G.state_dict(), os.path.join(out, "init_gen.pt"))
    torch.save(D.state_dict(), os.path.join(out, "init_disc.pt"))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    inputs = {"in.real": [], "in.labels": [], "in.z": [], "in.gen_labels": []}
    losses = []
    for _ in range(STEPS):
        real = torch.rand(BATCH, 1, 32, 32, dtype=torch.float64) * 2 - 1
        labels = torch.randint(0, 10, (BATCH,))
        z = torch.randn(BATCH, 100, dtype=torch.float64)
        gen_labels = torch.randint(0, 10, (BATCH,))
        for key, value in zip(inputs, (real, labels, z, gen_labels)):
            inputs[key].append(value)
        losses.append(models.train_step(G, D, opt_g, opt_d, real, labels, z, gen_labels))
    result = {key: torch.stack(values) for key, values in inputs.items()}
    result["losses"] = torch.tensor(losses, dtype=torch.float64)
    for name, net in (("G", G), ("D", D)):
        for key, value in net.state_dict().items():
            result[f"after.{name}.{key}"] = value
    torch.save(result, os.path.join(out, "trajectory.pt"))


def networks(models, out):
    torch.manual_seed(1)
    g, d = models.MLPGenerator(), models.MLPDiscriminator()
    for m in g.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    g.eval()
    torch.save(g.state_dict(), os.path.join(out, "gen.pt"))
    torch.save(d.state_dict(), os.path.join(out, "disc.pt"))
    z, c = torch.randn(4, 100), torch.tensor([0, 3, 9, 3])
    with torch.no_grad():
        images = g(z, c)
    torch.save({"z": z, "c": c, "images": images}, os.path.join(out, "outputs.pt"))


def check(models, dirs):
    export, original = dirs.split(":")
    g, d = models.MLPGenerator(), models.MLPDiscriminator()
    for net, name in ((g, "gen.pt"), (d, "disc.pt")):
        net.load_state_dict(torch.load(os.path.join(export, name), weights_only=True), strict=True)
        before = torch.load(os.path.join(original, name), weights_only=True)
        for key, value in net.state_dict().items():
            if not torch.equal(value, before[key]):
                sys.exit(f"{name}: {key} differs after the round trip")
    script = os.path.join(export, "generator.pt")
    if os.path.exists(script):  # the script's own G on the same inputs: within float32 rounding
        outputs = torch.load(os.path.join(original, "outputs.pt"), weights_only=True)
        with torch.no_grad():
            drawn = torch.jit.load(script)(outputs["z"], outputs["c"])
        error = (drawn - outputs["images"]).abs().max().item()
        if error > 1e-6:
            sys.exit(f"generator.pt: images differ from the script's G by {error}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in ("write", "check"):
        sys.exit(__doc__)
    models = load(sys.argv[1])
    if sys.argv[2] == "write":
        os.makedirs(sys.argv[3], exist_ok=True)
        trajectory(models, sys.argv[3])
        networks(models, sys.argv[3])
    else:
        check(models, sys.argv[3])
