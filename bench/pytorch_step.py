#!/usr/bin/python3
"""PyTorch eager reference for scripts/bench.sh: the original script's networks and one ACGAN step
(D on real, D on detached fake, Adam; G through D, Adam), timed on real CIFAR-10 the way
acgan_bench times acgan: steady state, whole step including batch assembly and noise.

Run with Debian's python3-torch 1.13 (the same LibTorch build acgan links), so the ratio of the two
isolates what acgan's own code does. Prints one JSON line.
"""
import argparse
import contextlib
import json
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 10


def up(cin, cout, stride, padding, last=False):
    layers = [nn.ConvTranspose2d(cin, cout, 4, stride, padding)]
    layers += [nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers)


def down(cin, cout, stride, bn=True):
    layers = [nn.Conv2d(cin, cout, 3, stride, 1)]
    layers += [nn.BatchNorm2d(cout), nn.LeakyReLU(0.2), nn.Dropout(0.5)] if bn else [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class Generator(nn.Module):
    def __init__(self, nz):
        super().__init__()
        self.nz = nz
        self.fc1 = nn.Linear(nz, 384)
        self.conv1, self.conv2 = up(384, 192, 1, 0), up(192, 96, 2, 1)
        self.conv3, self.conv4 = up(96, 48, 2, 1), up(48, 3, 2, 1, last=True)

    def forward(self, z):
        x = self.fc1(z.view(-1, self.nz)).view(-1, 384, 1, 1)
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.Sequential(down(3, 16, 2, bn=False), down(16, 32, 1), down(32, 64, 2),
                                   down(64, 128, 1), down(128, 256, 2), down(256, 512, 1))
        self.fc_source = nn.Linear(8192, 1)
        self.fc_class = nn.Linear(8192, CLASSES)

    def forward(self, x):
        h = self.convs(x).view(-1, 8192)
        return torch.sigmoid(self.fc_source(h)).view(-1), self.fc_class(h)


def load_cifar(root):
    folder = root if os.path.exists(os.path.join(root, "data_batch_1.bin")) else os.path.join(root, "cifar-10-batches-bin")
    raw = np.concatenate([np.fromfile(os.path.join(folder, f"data_batch_{i}.bin"), dtype=np.uint8).reshape(-1, 3073)
                          for i in range(1, 6)])
    return torch.from_numpy(raw[:, 1:].copy()).view(-1, 3, 32, 32), torch.from_numpy(raw[:, 0].astype(np.int64))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root_dir", required=True)
    p.add_argument("--batch_size", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--t0", type=float, default=None, help="launch time (epoch seconds) for time-to-first-step")
    p.add_argument("--count_kernels", action="store_true", help="CUDA: kernels one step launches (torch.profiler)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    images, labels = load_cifar(a.root_dir)
    images, labels = images.to(dev), labels.to(dev)
    nz = 110
    G, D = Generator(nz).to(dev), Discriminator().to(dev)
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    # Autocast covers the networks only; the losses run in float32 (BCE is not autocast-safe).
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    amp = (lambda: torch.autocast(dev.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    scaler = torch.cuda.amp.GradScaler(enabled=a.precision == "fp16")
    n = images.shape[0]
    order = torch.randperm(n, device=dev)
    cursor = [0]

    def step():
        b = a.batch_size
        if cursor[0] + b > n:
            cursor[0] = 0
        idx = order[cursor[0]:cursor[0] + b]
        cursor[0] += b
        x = images.index_select(0, idx).float().div_(255).sub_(0.5).div_(0.5)
        y = labels.index_select(0, idx)
        c = torch.randint(0, CLASSES, (b,), device=dev)
        z = torch.randn(b, nz, device=dev)
        z[:, :CLASSES] = F.one_hot(c, CLASSES).float()
        def losses(out, target, classes):
            src, cls = out[0].float(), out[1].float()
            return F.binary_cross_entropy(src, torch.full_like(src, target)) + F.cross_entropy(cls, classes)

        oD.zero_grad()
        with amp():
            out = D(x)
        scaler.scale(losses(out, 1.0, y)).backward()
        with amp():
            fake = G(z)
            out = D(fake.detach())
        scaler.scale(losses(out, 0.0, c)).backward()
        scaler.step(oD)
        oG.zero_grad()
        with amp():
            out = D(fake)
        loss_g = losses(out, 1.0, c)
        scaler.scale(loss_g).backward()
        scaler.step(oG)
        scaler.update()
        return loss_g

    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    step()
    sync()
    first = time.time() - a.t0 if a.t0 else None
    for _ in range(a.warmup):
        step()
    kernels = 0
    if a.count_kernels and dev.type == "cuda":
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            sync()
        kernels = sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    rates = []
    for _ in range(a.repeats):
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            loss = step()
        float(loss)
        sync()
        rates.append(a.steps * a.batch_size / (time.perf_counter() - t))
    print(json.dumps({"impl": "pytorch", "batch_size": a.batch_size, "threads": torch.get_num_threads(),
                      "precision": a.precision,
                      "images_per_s": sorted(rates)[len(rates) // 2], "repeats": rates,
                      "first_step_s": first, "kernels_per_step": kernels, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
