#!/usr/bin/python3
"""Summarises scripts/recipe_study.sh's runs as a Markdown table: for each configuration, the last
evaluation of each seed's eval.csv, as the mean over seeds (and each seed's value when there are two
or more), with the run's minutes.

Usage: scripts/study_table.py OUTROOT [--plot FILE]   (OUTROOT/<config>/seed<N>/eval.csv, .../done)
       --plot FILE also draws each configuration's discriminability, classifier FD and MS-SSIM
       over the epochs (mean over its seeds; the real images' values dashed) with matplotlib.
"""
import csv
import os
import sys

COLUMNS = [  # (eval.csv column, heading, format, scale)
    ("classifier_accuracy", "discriminability (%)", "{:.1f}", 100),
    ("classifier_fd", "classifier FD", "{:.1f}", 1),
    ("ms_ssim_mean", "MS-SSIM", "{:.3f}", 1),
    ("ms_ssim_collapsed_classes", "collapsed classes", "{:.0f}", 1),
]


def last_row(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else None


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot(root, configs, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(COLUMNS) - 1, figsize=(5 * (len(COLUMNS) - 1), 4))
    real = {}
    for config, runs in configs:
        per_seed = [read_rows(os.path.join(root, config, seed, "eval.csv")) for seed in runs]
        epochs = [int(r["epoch"]) for r in per_seed[0]]
        for ax, (column, heading, _, scale) in zip(axes, COLUMNS):
            values = [scale * sum(float(rows[i][column]) for rows in per_seed) / len(per_seed)
                      for i in range(len(epochs))]
            ax.plot(epochs, values, marker="o", label=config)
            real[column] = scale * float(per_seed[0][0].get(
                column.replace("_mean", "") + "_real_mean", per_seed[0][0].get(column + "_real", "nan")))
            ax.set_title(heading)
            ax.set_xlabel("epoch")
            ax.set_xticks(epochs)
    for ax, (column, _, _, _) in zip(axes, COLUMNS):
        ax.axhline(real[column], color="black", linestyle="--", label="real images")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


def main():
    args = sys.argv[1:]
    out = None
    if len(args) == 3 and args[1] == "--plot":
        out = args[2]
        args = args[:1]
    if len(args) != 1:
        sys.exit(__doc__.strip())
    root = args[0]
    if not os.path.isdir(root):
        sys.exit(f"study_table: error: {root}: not a folder")
    lines = ["| configuration | seeds | epochs | " + " | ".join(c[1] for c in COLUMNS) + " | minutes |",
             "|---|---|---|" + "---|" * len(COLUMNS) + "---|"]
    real = None
    finished = []
    for config in sorted(os.listdir(root)):
        runs = []
        seeds = []
        config_dir = os.path.join(root, config)
        if not os.path.isdir(config_dir):
            continue
        for seed in sorted(os.listdir(config_dir)):
            run = os.path.join(config_dir, seed)
            if not os.path.exists(os.path.join(run, "done")):
                continue
            row = last_row(os.path.join(run, "eval.csv"))
            if row:
                with open(os.path.join(run, "done")) as f:
                    row["seconds"] = float(f.read().strip())
                runs.append(row)
                seeds.append(seed)
        if not runs:
            continue
        finished.append((config, seeds))
        real = real or runs[0]
        cells = []
        for column, _, fmt, scale in COLUMNS:
            values = [scale * float(r[column]) for r in runs]
            mean = fmt.format(sum(values) / len(values))
            cells.append(mean + (" (" + ", ".join(fmt.format(v) for v in values) + ")" if len(values) > 1 else ""))
        minutes = sum(r["seconds"] for r in runs) / len(runs) / 60
        lines.append(f"| {config} | {len(runs)} | {runs[0]['epoch']} | " + " | ".join(cells) + f" | {minutes:.0f} |")
    if real:
        lines.append(f"| real images | | | {100 * float(real['classifier_accuracy_real']):.1f} | "
                     f"{float(real['classifier_fd_real']):.2f} | {float(real['ms_ssim_real_mean']):.3f} | 0 | |")
    print("\n".join(lines))
    if out and finished:
        plot(root, finished, out)


if __name__ == "__main__":
    main()
