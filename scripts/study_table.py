#!/usr/bin/python3
"""Summarises scripts/recipe_study.sh's runs as a Markdown table: for each configuration, the last
evaluation of each seed's eval.csv, as the mean over seeds (and each seed's value when there are two
or more), with the run's minutes.

Usage: scripts/study_table.py OUTROOT   (OUTROOT/<config>/seed<N>/eval.csv and .../done)
"""
import csv
import os
import sys

COLUMNS = [  # (eval.csv column, heading, format)
    ("classifier_accuracy", "discriminability (%)", "{:.1f}"),
    ("classifier_fd", "classifier FD", "{:.1f}"),
    ("ms_ssim_mean", "MS-SSIM", "{:.3f}"),
    ("ms_ssim_collapsed_classes", "collapsed classes", "{:.0f}"),
]


def last_row(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    root = sys.argv[1]
    if not os.path.isdir(root):
        sys.exit(f"study_table: error: {root}: not a folder")
    lines = ["| configuration | seeds | epochs | " + " | ".join(h for _, h, _ in COLUMNS) + " | minutes |",
             "|---|---|---|" + "---|" * len(COLUMNS) + "---|"]
    real = None
    for config in sorted(os.listdir(root)):
        runs = []
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
        if not runs:
            continue
        real = real or runs[0]
        cells = []
        for column, _, fmt in COLUMNS:
            values = [float(r[column]) for r in runs]
            mean = fmt.format(sum(values) / len(values))
            cells.append(mean + (" (" + ", ".join(fmt.format(v) for v in values) + ")" if len(values) > 1 else ""))
        minutes = sum(r["seconds"] for r in runs) / len(runs) / 60
        lines.append(f"| {config} | {len(runs)} | {runs[0]['epoch']} | " + " | ".join(cells) + f" | {minutes:.0f} |")
    if real:
        lines.append(f"| real images | | | {float(real['classifier_accuracy_real']):.1f} | "
                     f"{float(real['classifier_fd_real']):.2f} | {float(real['ms_ssim_real_mean']):.3f} | 0 | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
