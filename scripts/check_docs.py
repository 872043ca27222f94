#!/usr/bin/env python3
"""Checks the documentation against itself and against the code (python3, standard library only).

  1. Links: every relative markdown link or image, [text](target), in README.md, docs/*.md and
     tests/README.md names a file or folder that exists; a target with #anchor (or a bare #anchor,
     into the same file) must name a heading of that markdown file, by GitHub's rule (lowercase,
     markdown and punctuation other than '-' and '_' dropped, spaces to '-', a repeated heading
     gets -1, -2, ...). http(s):// and mailto: links are not checked; links inside code spans and
     fenced code blocks are not links.
  2. README.md has at most 250 lines.
  3. Flags: README.md's tables under its "Flags" heading document exactly the training flags: every
     row of the option table (train_option_table() in src/training/train_options.cpp) and every
     flag add_training_flags() in src/commands/cli.cpp adds by name (--resume) appears in a row's first cell
     as `--name`, and every `--name` in a row's first cell is one of them. A row may name several
     flags (`--lr_g`, `--lr_d`).

On failure: one line per problem, "check_docs: FILE:LINE: what", and exit 1. On success:
"check_docs: N links, M flags checked" and exit 0.

Usage: scripts/check_docs.py [--root DIR]   (DIR: the repository root; default: this script's
parent folder's parent)
"""
import argparse
import os
import re
import sys
import urllib.parse

MAX_README_LINES = 250
OPTION_TABLE = "src/training/train_options.cpp"
CLI = "src/commands/cli.cpp"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target); the text may hold one level of brackets; an optional "title".
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_lines(text):
    """(line number, line) for every line outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            yield number, line
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            fence = None


def github_anchor(heading):
    """The anchor GitHub gives a heading's text."""
    text = re.sub(r"[ \t]+#+$", "", heading)  # closing #s
    text = CODE_SPAN.sub(lambda m: m.group(2), text)
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        seen, anchors = {}, set()
        for _, line in markdown_lines(text):
            match = HEADING.match(line)
            if not match:
                continue
            anchor = github_anchor(match.group(2))
            if anchor in seen:
                seen[anchor] += 1
                anchors.add(f"{anchor}-{seen[anchor]}")
            else:
                seen[anchor] = 0
                anchors.add(anchor)
        cache[path] = anchors
    return cache[path]


def check_links(root, relpath, problems):
    """Checks the links of one markdown file; returns how many it checked."""
    path = os.path.join(root, relpath)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    count = 0
    for number, line in markdown_lines(text):
        for match in LINK.finditer(CODE_SPAN.sub("", line)):
            target = match.group(2)
            if re.match(r"(https?:|mailto:)", target, re.I):
                continue
            count += 1
            where = f"{relpath}:{number}"
            if not target:
                problems.append(f"{where}: [{match.group(1)}]() has no target")
                continue
            file_part, _, anchor = target.partition("#")
            file_part = urllib.parse.unquote(file_part)
            if file_part.startswith("/"):
                problems.append(f"{where}: {target}: an absolute path; use one relative to {relpath}")
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(resolved):
                problems.append(f"{where}: {target}: {os.path.relpath(resolved, root)} does not exist")
                continue
            if not anchor:
                continue
            if os.path.isdir(resolved) or not resolved.endswith(".md"):
                problems.append(f"{where}: {target}: an anchor into a file that is not markdown")
            elif urllib.parse.unquote(anchor) not in anchors_of(resolved):
                problems.append(f"{where}: {target}: {os.path.relpath(resolved, root)} has no heading "
                                f"with the anchor #{anchor}")
    return count


def function_body(text, signature):
    """The text from `signature` to the first line that is a lone '}' (the function's end)."""
    start = text.find(signature)
    if start < 0:
        return None, 0
    end = text.find("\n}", start)
    return text[start:end if end >= 0 else len(text)], text.count("\n", 0, start) + 1


def code_flags(root, problems):
    """{name: 'file:line'} of the training flags: the option table's rows and --resume."""
    flags = {}
    with open(os.path.join(root, OPTION_TABLE), encoding="utf-8") as f:
        text = f.read()
    body, first_line = function_body(text, "train_option_table() {")
    if body is None:
        problems.append(f"{OPTION_TABLE}:1: train_option_table() not found")
        return flags
    # A row: {"name", "help", &O::member, original, on_resume}; the name opens the row.
    for match in re.finditer(r"\{\s*\"([a-z][a-z0-9_]*)\"\s*,", body):
        line = first_line + body.count("\n", 0, match.start())
        flags[match.group(1)] = f"{OPTION_TABLE}:{line}"
    members = len(re.findall(r"&O::\w+", body))
    if members != len(flags):
        problems.append(f"{OPTION_TABLE}:{first_line}: train_option_table() has {members} members "
                        f"(&O::) but {len(flags)} rows parsed; update check_docs.py's pattern")
    with open(os.path.join(root, CLI), encoding="utf-8") as f:
        text = f.read()
    body, first_line = function_body(text, "void add_training_flags(")
    if body is None:
        problems.append(f"{CLI}:1: add_training_flags() not found")
        return flags
    for match in re.finditer(r"add_(?:option|flag)\(\s*\"--([a-z][a-z0-9_]*)\"", body):
        line = first_line + body.count("\n", 0, match.start())
        flags[match.group(1)] = f"{CLI}:{line}"
    return flags


def readme_flags(root, problems):
    """{name: [line, ...]} of the flags in the first cells of README.md's Flags tables."""
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        text = f.read()
    flags, section_level, heading_line = {}, None, None
    for number, line in markdown_lines(text):
        match = HEADING.match(line)
        if match:
            level = len(match.group(1))
            if section_level is not None and level <= section_level:
                section_level = None
            if section_level is None and heading_line is None and "flags" in match.group(2).lower():
                section_level, heading_line = level, number
            continue
        if section_level is None or not line.lstrip().startswith("|"):
            continue
        cells = line.strip().strip("|").split("|")
        first = cells[0].strip()
        if re.fullmatch(r":?-+:?", first) or first.lower() == "flag":
            continue  # the separator and header rows
        names = re.findall(r"`--([\w-]+)[^`]*`", first)
        if not names:
            problems.append(f"README.md:{number}: a Flags table row without a `--flag` in its first "
                            f"cell: {first}")
        for name in names:
            flags.setdefault(name, []).append(number)
    if heading_line is None:
        problems.append("README.md:1: no heading with the word \"Flags\"")
    return flags, heading_line or 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        help="the repository root (default: this script's folder's parent)")
    root = os.path.abspath(parser.parse_args().root)
    problems = []

    files = ["README.md"]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted(f"docs/{name}" for name in os.listdir(docs) if name.endswith(".md"))
    if os.path.exists(os.path.join(root, "tests", "README.md")):
        files.append("tests/README.md")
    links = 0
    for relpath in files:
        if not os.path.exists(os.path.join(root, relpath)):
            problems.append(f"{relpath}:1: missing")
            continue
        links += check_links(root, relpath, problems)

    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        lines = len(f.read().splitlines())
    if lines > MAX_README_LINES:
        problems.append(f"README.md:{lines}: {lines} lines, more than {MAX_README_LINES}; move detail "
                        f"to docs/")

    in_code = code_flags(root, problems)
    in_readme, flags_line = readme_flags(root, problems)
    for name, where in in_code.items():
        if name not in in_readme:
            problems.append(f"README.md:{flags_line}: --{name} ({where}) is not in the Flags tables")
    for name, numbers in in_readme.items():
        if name not in in_code:
            problems.append(f"README.md:{numbers[0]}: --{name} is in the Flags tables but is no "
                            f"training flag ({OPTION_TABLE}, {CLI})")
        for number in numbers[1:]:
            problems.append(f"README.md:{number}: --{name} is documented twice (first on line "
                            f"{numbers[0]})")

    for problem in problems:
        print(f"check_docs: {problem}")
    if problems:
        return 1
    print(f"check_docs: {links} links, {len(in_code)} flags checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
