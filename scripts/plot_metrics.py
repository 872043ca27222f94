#!/usr/bin/python3
"""Draws the original README's three training plots from OUTDIR/metrics.csv, smoothed, as PNG:

    OUTDIR/plots/losses.png     Loss_D (blue) and Loss_G (red)
    OUTDIR/plots/accuracy.png   D's class accuracy on real and on fake batches (%)
    OUTDIR/plots/d_outputs.png  D(x) (green), D(G(z1)) (grey), D(G(z2)) (orange)
    OUTDIR/plots/eval.png       with --eval_every: each value of eval.csv over the epochs, one
                                panel each, the real-data value (a *_real column) dashed

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
    plot_eval(args.outdir, plt)


def plot_eval(outdir, plt):
    """One panel per value of eval.csv against the epoch; X_real columns drawn dashed in X's."""
    path = os.path.join(outdir, "eval.csv")
    if not os.path.exists(path):
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epoch = [int(r["epoch"]) for r in rows]
    names = [n for n in rows[0] if n not in ("step", "epoch") and not n.endswith("_std")]
    real_of = {n.replace("_real", ""): n for n in names if "_real" in n}
    panels = [n for n in names if "_real" not in n]
    cols = min(3, len(panels))
    grid_rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(grid_rows, cols, figsize=(4 * cols, 3 * grid_rows), squeeze=False)
    for ax, name in zip(axes.flat, panels):
        ax.plot(epoch, [float(r[name]) for r in rows], marker="o", color="tab:blue", label="samples")
        if name in real_of:
            ax.plot(epoch, [float(r[real_of[name]]) for r in rows], "--", color="tab:green",
                    label="real")
            ax.legend()
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    out = os.path.join(outdir, "plots", "eval.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(out)


if __name__ == "__main__":
    main()
