#!/usr/bin/python3
"""Writes the original script's networks as its Python saves them, with their outputs, for
tests/test_interop.cpp: OUT/gen.pt and OUT/disc.pt (torch.save(model.state_dict()), OrderedDicts),
OUT/gen_protocol4.pt (the same, pickle protocol 4), OUT/gen_cuda.pt (the same as the original
script's GPU box saves it: every storage located on cuda:0, written here without a GPU by
torch.save's own location tag answering cuda:0), and OUT/outputs.pt, a plain dict: z (4, 110)
with the one-hot of c (4) in its first 10 entries, as the original feeds G, images = G(z),
x (4, 3, 32, 32), source = D(x)'s probability, classes = D(x)'s logits, both networks in eval
mode. BatchNorm's running statistics are set away from their initial values so that eval mode
reads them.

    check EXPORT:OUT    loads an `acgan export` folder into the original networks with strict=True
                        and exits 0 when every tensor equals OUT/gen.pt's and OUT/disc.pt's bit for
                        bit, and EXPORT/generator.pt (TorchScript), where present, draws
                        OUT/outputs.pt's images from its z; 1 naming what differs otherwise.

Usage: python_networks.py ORIGINAL_MODELS_PY write OUT | check EXPORT:OUT
"""
import importlib.util
import os
import sys

import torch
import torch.nn.functional as F

# LibTorch's own transposed convolution, not oneDNN's, for the reference images and the check:
# acgan turns oneDNN's off where it is wrong (torch 2.6's is 0.006 off on Zen 5).
torch.backends.mkldnn.enabled = False


def original_models(path):
    spec = importlib.util.spec_from_file_location("original_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(models, out):
    torch.manual_seed(0)
    g, d = models.Generator(110), models.Discriminator()
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    g.eval()
    d.eval()
    os.makedirs(out, exist_ok=True)
    torch.save(g.state_dict(), os.path.join(out, "gen.pt"))
    torch.save(g.state_dict(), os.path.join(out, "gen_protocol4.pt"), pickle_protocol=4)
    torch.save(d.state_dict(), os.path.join(out, "disc.pt"))
    cpu_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(g.state_dict(), os.path.join(out, "gen_cuda.pt"))
    finally:
        torch.serialization.location_tag = cpu_tag
    z, x = torch.randn(4, 110), torch.rand(4, 3, 32, 32) * 2 - 1
    c = torch.tensor([0, 3, 9, 3])
    z[:, :10] = F.one_hot(c, 10)  # the class in z, as the original script feeds its G
    with torch.no_grad():
        images = g(z)
        source, classes = d(x)
    torch.save({"z": z, "c": c, "images": images, "x": x, "source": source, "classes": classes},
               os.path.join(out, "outputs.pt"))


def check(models, dirs):
    export, original = dirs.split(":")
    g, d = models.Generator(110), models.Discriminator()
    for net, name in ((g, "gen.pt"), (d, "disc.pt")):
        net.load_state_dict(torch.load(os.path.join(export, name), weights_only=True), strict=True)
        before = torch.load(os.path.join(original, name), weights_only=True)
        for key, value in net.state_dict().items():
            if not torch.equal(value, before[key]):
                sys.exit(f"{name}: {key} differs after the round trip")
    script = os.path.join(export, "generator.pt")
    if os.path.exists(script):  # the same kernels as the original G here: within rounding
        outputs = torch.load(os.path.join(original, "outputs.pt"), weights_only=True)
        with torch.no_grad():
            images = torch.jit.load(script)(outputs["z"], outputs["c"])
            error = (images - outputs["images"]).abs().max().item()
        if error > 1e-6:
            sys.exit(f"generator.pt: images differ from the original G's by {error}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in ("write", "check"):
        sys.exit(__doc__)
    models = original_models(sys.argv[1])
    (write if sys.argv[2] == "write" else check)(models, sys.argv[3])
