"""The BM25 tokenizer: lower case, English stop words and Snowball stemming (via bm25s)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import Stemmer

# Bumped whenever tokenize() changes, so an index built with other tokens is rebuilt.
TOKENIZER_VERSION = 2

# NLTK's English list without its contraction fragments ("don", "won", "ll"), plus the
# words that frame a question rather than name its subject ("List the main ...",
# "Describe ..."). It holds all of bm25s' 33-word list, with which such words matched
# passages on wording alone.
STOPWORDS = sorted(
    set(
        """a about above after again against all am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers herself him himself his how
        i if in into is it its itself just me more most my myself no nor not now of off on
        once only or other our ours ourselves out over own same she should so some such than
        that the their theirs them themselves then there these they this those through to too
        under until up very was we were what when where which while who whom why will with
        would you your yours yourself yourselves""".split()  # noqa: SIM905 (a readable block)
    )
    | {"list", "describe", "explain", "name", "mention", "give", "summarize", "summarise"}
    | {"outline", "discuss", "known", "main"}
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case, drop English stop words and stem: the same for passages and queries."""
    import bm25s  # here: it loads scipy.sparse, which commands that never search skip

    out = bm25s.tokenize(
        list(texts), stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in out]
