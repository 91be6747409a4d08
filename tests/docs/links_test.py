#!/usr/bin/env python3
"""Every relative link in the project's Markdown resolves: the file or folder exists, and a
`#fragment` names a heading of the target document (GitHub's anchors: lower case, punctuation
dropped, spaces as hyphens). Links inside code blocks and code spans are not links.

Usage: links_test.py SOURCE_DIR
"""

import os
import re
import subprocess
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    inside = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if FENCE.match(line):
                inside = not inside
                continue
            if not inside:
                yield number, line.rstrip("\n")


def anchor(heading):
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if match:
            base = anchor(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def markdown_files(source):
    listed = subprocess.run(["git", "-C", source, "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard", "--", "*.md"],
                            capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        return sorted(n for n in listed.stdout.decode().split("\0") if n)
    # Not a git checkout (a source archive): every .md outside build directories.
    found = []
    for root, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if not d.startswith(("build", "."))]
        found += [os.path.relpath(os.path.join(root, f), source) for f in files if f.endswith(".md")]
    return sorted(found)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: links_test.py SOURCE_DIR")
    source = os.path.abspath(sys.argv[1])
    failures, checked = [], 0
    cache = {}
    for name in markdown_files(source):
        path = os.path.join(source, name)
        for number, line in prose_lines(path):
            for target in LINK.findall(CODE_SPAN.sub("", line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
                    continue
                checked += 1
                file_part, _, fragment = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) \
                    if file_part else path
                where = f"{name}:{number}: {target}"
                if not os.path.exists(resolved):
                    failures.append(f"{where}: no such file")
                    continue
                if fragment:
                    if not resolved.endswith(".md"):
                        failures.append(f"{where}: a fragment on a file that is not Markdown")
                        continue
                    if resolved not in cache:
                        cache[resolved] = anchors(resolved)
                    if fragment not in cache[resolved]:
                        failures.append(f"{where}: no heading #{fragment} in "
                                        f"{os.path.relpath(resolved, source)}")
    for failure in failures:
        print(failure)
    print(f"{checked} relative links checked: {checked - len(failures)} passed, "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
