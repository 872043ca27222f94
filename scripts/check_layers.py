#!/usr/bin/env python3
"""Fails, naming file and line, on an #include "acgan/..." that points up the layers.

    base         include/acgan/*.h and src/*.cpp (error, clock, runtime, op_counter)
    data models io          formats, networks, files: know nothing of training
    training                the step, its options, checkpoints, resume policy, outdir claim
    eval interop distributed   built on training's networks and checkpoints
    commands                the subcommands and main(): may include anything

A file may include its own layer or any below it. What a lower layer needs from a higher one
comes in as a parameter or an interface (training's GradientHook, EvalSettings::stop_requested).

    scripts/check_layers.py [--root DIR]     exit 0 when every include points down
"""
import argparse
import pathlib
import re
import sys

LAYERS = {
    "": 0,
    "data": 1, "models": 1, "io": 1,
    "training": 2,
    "eval": 3, "interop": 3, "distributed": 3,
    "commands": 4,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"acgan/([^"]+)"')


def folder_of(relative):
    """The layer folder of a path under include/acgan/ or src/ ('' for the base files)."""
    parts = pathlib.PurePosixPath(relative).parts
    return parts[0] if len(parts) > 1 else ""


def sources(root):
    for top, prefix in (("include/acgan", "include/acgan/"), ("src", "src/")):
        base = root / top
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in (".h", ".cpp") and path.is_file():
                yield path, str(path.relative_to(base).as_posix()), prefix


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    root = pathlib.Path(parser.parse_args().root)
    problems, files = [], 0
    for path, relative, prefix in sources(root):
        files += 1
        own = folder_of(relative)
        if own not in LAYERS:
            problems.append(f"{prefix}{relative}: folder '{own}' has no layer in scripts/check_layers.py")
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = folder_of(match.group(1))
            if target not in LAYERS:
                problems.append(f"{prefix}{relative}:{number}: includes acgan/{match.group(1)}, "
                                f"whose folder '{target}' has no layer")
            elif LAYERS[target] > LAYERS[own]:
                problems.append(f"{prefix}{relative}:{number}: includes acgan/{match.group(1)}, "
                                f"which points up ({own or 'base'} is layer {LAYERS[own]}, "
                                f"{target} layer {LAYERS[target]}); pass what it needs in instead")
    for problem in problems:
        print(problem, file=sys.stderr)
    if files == 0:
        print(f"check_layers: no sources under {root}", file=sys.stderr)
        return 1
    if problems:
        return 1
    print(f"check_layers: {files} files, every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
