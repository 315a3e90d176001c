"""FinVADER: VADER's rules over the finvader package's two financial lexicons (SentiBigNomics, Henry).

The lexicons are bundled (``lexicons/`` beside this module, copied from finvader 1.0.4, Apache-2.0)
rather than the package installed: finvader declares Python < 3.12, pins nltk 3.6.2 (Evidently needs
a newer one) and downloads NLTK's VADER lexicon over the network when imported. They are combined as
``finvader(..., use_sentibignomics=True, use_henry=True)`` combines them (SentiBigNomics valences
scaled by the package's 0.1, Henry's words overriding) and added to the ``vader`` scorer's
vaderSentiment analyser, built once instead of on every call.
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources
from typing import Final

LEXICON_FILE: Final = "finvader_1.0.4.csv.gz"
#: finvader's own scaling of the SentiBigNomics valences ("parameter for tuning classification accuracy").
SENTIBIGNOMICS_SCALE: Final = 0.1


def finvader_lexicon() -> dict[str, float]:
    """The combined lexicon finvader adds to VADER's: word -> valence on VADER's -4..4 scale."""
    raw = resources.files("alphapulse.features").joinpath("lexicons", LEXICON_FILE).read_bytes()
    lexicons: dict[str, dict[str, float]] = {"sentibignomics": {}, "henry": {}}
    for row in csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))):
        lexicons[row["lexicon"]][row["word"]] = float(row["valence"])
    scaled = {word: valence * SENTIBIGNOMICS_SCALE for word, valence in lexicons["sentibignomics"].items()}
    return {**scaled, **lexicons["henry"]}
