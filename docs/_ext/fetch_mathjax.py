"""Put MathJax 3 (the SVG build, which needs no web fonts) into docs/_static/mathjax, so formulas render offline.

Downloads the npm package's tarball once, checks it against its published SHA-512, and keeps only
``es5/tex-svg-full.js`` and the licence. Run by ``make docs``; does nothing when the file is already there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "3.2.2"
URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
# the "dist.integrity" the npm registry publishes for this version
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
TARGET = Path(__file__).resolve().parent.parent / "_static" / "mathjax"
WANTED = {"package/es5/tex-svg-full.js": "tex-svg-full.js", "package/LICENSE": "LICENSE"}


def main() -> int:
    if all((TARGET / name).is_file() for name in WANTED.values()):
        return 0
    print(f"Downloading MathJax {VERSION} from {URL}")
    try:
        with urllib.request.urlopen(URL, timeout=60) as response:
            data = response.read()
    except OSError as error:
        print(f"Cannot download MathJax ({error}). Fetch {URL} by hand and put es5/tex-svg-full.js in {TARGET}.")
        return 1
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        print(f"The MathJax tarball does not match its published checksum ({digest} != {INTEGRITY}).")
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member, name in WANTED.items():
            (TARGET / name).write_bytes(archive.extractfile(member).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
