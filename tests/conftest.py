"""Shared test settings: the ``fuzz`` hypothesis profile that ``make fuzz`` runs (many more random graphs)."""

import os

from hypothesis import settings

settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("SYMSLOW_FUZZ_EXAMPLES", "1500")), deadline=None, print_blob=True
)
if os.environ.get("SYMSLOW_FUZZ"):
    settings.load_profile("fuzz")
