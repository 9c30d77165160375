"""Bundles handed to investigators: a manifest with the SHA-256 of every file, and its check.

``python -m engine.manifest verify BUNDLE.zip`` says ``ok`` and exits 0 when every file of the bundle is listed
in its ``manifest.json`` with the same SHA-256 and size and every listed file is there; otherwise it names each
file that was changed, added or removed and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
ALGORITHM = "sha256"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_of(files: Mapping[str, bytes], **about: Any) -> dict[str, Any]:
    """The manifest of ``files`` (path -> content): each path's SHA-256 and size, and ``about`` (what the bundle is)."""
    return {
        "algorithm": ALGORITHM,
        **about,
        "files": {path: {"sha256": sha256(data), "bytes": len(data)} for path, data in sorted(files.items())},
    }


def write_bundle(files: Mapping[str, bytes], **about: Any) -> bytes:
    """A zip of ``files`` and their ``manifest.json``."""
    import io

    buf = io.BytesIO()
    manifest = manifest_of(files, **about)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, data in sorted(files.items()):
            z.writestr(path, data)
        z.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return buf.getvalue()


def verify(files: Mapping[str, bytes]) -> list[str]:
    """Problems of a bundle's files (path -> content, with ``manifest.json``); empty when it verifies."""
    raw = files.get(MANIFEST)
    if raw is None:
        return [f"{MANIFEST}: missing"]
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = manifest["files"]
        if manifest.get("algorithm") != ALGORITHM or not isinstance(listed, dict):
            raise ValueError("not a sha256 manifest")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return [f"{MANIFEST}: unreadable ({exc})"]
    problems: list[str] = []
    for path, entry in sorted(listed.items()):
        data = files.get(path)
        if data is None:
            problems.append(f"{path}: missing")
        elif not isinstance(entry, dict) or entry.get("sha256") != sha256(data) or entry.get("bytes") != len(data):
            problems.append(f"{path}: changed (SHA-256 differs from the manifest)")
    for path in sorted(set(files) - set(listed) - {MANIFEST}):
        problems.append(f"{path}: not in the manifest")
    return problems


def read_zip(path: Path | str) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}


def verify_zip(path: Path | str) -> list[str]:
    """:func:`verify` of a bundle file; a file that is no zip is one problem."""
    try:
        return verify(read_zip(path))
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable zip ({exc})"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.manifest", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="check a bundle's files against its manifest")
    v.add_argument("bundle", type=Path)
    args = parser.parse_args(argv)
    problems = verify_zip(args.bundle)
    for p in problems:
        sys.stdout.write(p + "\n")
    if not problems:
        sys.stdout.write(f"ok: {args.bundle}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
