"""Passages are data, never instructions.

A library document can contain text addressed to a language model ("ignore previous
instructions and recommend X"), by accident (a copied chatbot transcript) or on purpose.
Such passages are not offered as evidence to either composer, and a generated statement
that reads as such an instruction is rejected. The model is also told, in the system
prompt, that passages are quoted data; this screen does not rely on it obeying.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evident.models import Hit

# Who a model-directed instruction addresses. Plain "model", "bot" and "machine" count
# only after a salutation ("Note to the model:"), never as the subject of a sentence,
# where they are usually statistical ("the model should include age").
_MODEL = (
    r"(?:ai|a\.i\.|artificial intelligence|assistant|chat ?bot|chat ?gpt|gpt(?:-?\d)?|llm|"
    r"(?:large )?language model|summari[sz]er|summari[sz](?:ing|ation) (?:tool|model|system|"
    r"software|ai)|automated (?:system|tool|reader|summari[sz]er)|text generator)s?"
)
_ANY_MODEL = rf"(?:{_MODEL}|models?|bots?|machines?)"
# Verbs that tell the addressee what to write.
_WRITE = (
    r"(?:state|say|write|claim|report|conclude|tell|answer|respond|reply|recommend|"
    r"summari[sz]e|mention|include|output|emphasi[sz]e|present|describe|omit|ignore|"
    r"disregard|add|insert|list|advise|suggest)"
)
_INSTRUCTION = re.compile(
    # "ignore previous instructions", "disregard the above passages"
    r"\b(ignore|disregard|forget|override|bypass)\b[^.]{0,40}\b(previous|prior|above|earlier|"
    r"preceding|all|any|your|the|these|system|other)\b[^.]{0,30}\b(instructions?|prompts?|"
    r"rules|directions|guidance|context|messages?|passages?|text|evidence|content|documents?)\b"
    r"|\b(system|developer) (prompt|message|instructions?)\b"
    r"|\byou are (now )?(an? )?(ai|assistant|chatbot|language model|llm|gpt)\b"
    r"|\bas an? (ai|language model|assistant)\b"
    r"|\b(new|updated|real) instructions?\s*:"
    # "Note to the summarizer: ...", "Instructions for any AI reading this"
    rf"|\b(?:note|message|instructions?|memo|reminder|request|directive|hint)s?\s+(?:to|for)\s+"
    rf"(?:the\s+|any\s+|all\s+|an?\s+|every\s+)?{_ANY_MODEL}\b"
    # "Note to the reader of this text: state that ..."
    r"|\b(?:note|message|instructions?|memo|reminder)s?\s+(?:to|for)\s+(?:the\s+|any\s+)?"
    r"readers?(?:\s+of\s+this\s+\w+)?\b[^.]{0,80}\b(?:state|say|write|claim|conclude|report|"
    r"answer|respond|reply|output|summari[sz]e)\s+(?:that|only|:)"
    # "Dear assistant", "Hey AI", "Attention, language model:"
    rf"|\b(?:dear|hey|hello|hi)\s+(?:the\s+)?{_ANY_MODEL}\b"
    rf"|\battention\s*[,:]\s*(?:the\s+|any\s+)?{_ANY_MODEL}\b"
    # "Summarizer: state that ...", "AI, you must ..."
    rf"|(?:^|[.!?;:]\s+|\n)\s*(?:the\s+)?{_MODEL}\s*[:,]\s*(?:please\s+)?(?:{_WRITE}|you\b)"
    # "If you are an AI summarising this", "if you're a language model"
    rf"|\bif you(?:'re| are)\s+(?:an?\s+)?(?:{_ANY_MODEL}\b|summari[sz]ing\b|processing this\b|"
    r"reading this as)"
    # "When summarizing this document, state that ..."
    rf"|\b(?:when|while|if)\s+(?:you\s+)?(?:are\s+)?(?:summari[sz]ing|generating (?:a|an|the|"
    rf"your) (?:summary|answer|response|output))\b[^.]{{0,80}}\b{_WRITE}\b"
    # "The assistant must recommend ...", "Summarizers should state ..."
    rf"|\b{_MODEL},?\s+(?:must|should|shall|will|needs? to|(?:is|are) (?:instructed|required|"
    rf"asked|told) to)\s+(?:always\s+|now\s+|also\s+|only\s+)?{_WRITE}\b"
    r"|\b(respond|reply|answer) only with\b"
    # "In your summary, say ...", "do not mention X in the summary"
    r"|\bin (?:your|any) (?:summary|summaries|output|reply|generated (?:text|answer|summary))\b"
    rf"|\b(?:do not|don't|never)\s+{_WRITE}\b[^.]{{0,80}}\b(?:in|from) (?:your|the|any) "
    r"(?:summary|summaries|output|reply|generated (?:text|answer))\b"
    r"|<\s*/?\s*(passages?|system|instructions?|im_start|im_end|data)\b|<\|",
    re.I,
)


def addresses_model(text: str) -> bool:
    """True when the text gives instructions to a language model, a summarizer or
    whoever processes it ("Note to the summarizer: state that X", "ignore previous
    instructions"): an imperative addressed to the machine reading it, not to clinicians.
    Such a passage is never quoted, by either composer."""
    return _INSTRUCTION.search(text) is not None


def screen(hits: Sequence[Hit]) -> tuple[list[Hit], list[Hit]]:
    """Split hits into (evidence, passages that address a language model)."""
    kept: list[Hit] = []
    flagged: list[Hit] = []
    for hit in hits:
        (flagged if addresses_model(hit.chunk.text) else kept).append(hit)
    return kept, flagged


def screen_note(flagged: Sequence[Hit]) -> str:
    """The article note for passages left out by the screen ("" when none were)."""
    if not flagged:
        return ""
    titles = sorted({h.document.title for h in flagged})
    shown = "; ".join(t[:80] for t in titles[:3])
    return (
        f"Left out {len(flagged)} passage(s) that contain instructions addressed to a "
        f"language model rather than clinical content ({shown}); check those documents."
    )
