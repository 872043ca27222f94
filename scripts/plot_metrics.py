#!/usr/bin/python3
"""Draws the original README's three training plots from OUTDIR/metrics.csv, smoothed, as PNG:

    OUTDIR/plots/losses.png     Loss_D (blue) and Loss_G (red)
    OUTDIR/plots/accuracy.png   D's class accuracy on real and on fake batches (%)
    OUTDIR/plots/d_outputs.png  D(x) (green), D(G(z1)) (grey), D(G(z2)) (orange)

Usage: scripts/plot_metrics.py OUTDIR [--smooth N]   (needs matplotlib: apt-get install python3-matplotlib)
"""
import argparse
import csv
import os
import sys


def smooth(values, window):
    """Trailing moving average over `window` points (the original's plots were smoothed too)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="an acgan output folder holding metrics.csv")
    parser.add_argument("--smooth", type=int, default=50, help="moving-average window in steps (default 50)")
    args = parser.parse_args()
    path = os.path.join(args.outdir, "metrics.csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"plot_metrics: error: {path}: {e.strerror}")
    if not rows:
        sys.exit(f"plot_metrics: error: {path} holds no training steps yet")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics: error: matplotlib is missing: apt-get install python3-matplotlib")

    step = [int(r["step"]) for r in rows]
    col = lambda name: smooth([float(r[name]) for r in rows], max(1, args.smooth))
    plots = os.path.join(args.outdir, "plots")
    os.makedirs(plots, exist_ok=True)
    figures = {
        "losses.png": ("Generator and Discriminator loss", "loss",
                       [("loss_d", "Loss_D", "tab:blue"), ("loss_g", "Loss_G", "tab:red")]),
        "accuracy.png": ("Discriminator class accuracy", "accuracy (%)",
                         [("acc_real", "real", "tab:blue"), ("acc_fake", "fake", "tab:red")]),
        "d_outputs.png": ("Discriminator outputs", "D(.)",
                          [("d_x", "D(x)", "tab:green"), ("d_g_z1", "D(G(z1))", "tab:gray"),
                           ("d_g_z2", "D(G(z2))", "tab:orange")]),
    }
    for name, (title, ylabel, series) in figures.items():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for column, label, color in series:
            ax.plot(step, col(column), label=label, color=color, linewidth=1)
        ax.set(title=title, xlabel="iteration", ylabel=ylabel)
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(plots, name), dpi=100)
        plt.close(fig)
        print(os.path.join(plots, name))


if __name__ == "__main__":
    main()
