"""Where a sentence ends in recognised text: full stops that do not end one (abbreviations,
initials, numbers, ellipses) told apart from those that do.

Used to cut the offline engine's words into segments and subtitles into cues.
"""

from __future__ import annotations

__all__ = ["SENTENCE_END", "ends_sentence"]

SENTENCE_END = tuple(".?!")
INITIAL_PAUSE = 0.3  # seconds: an initial ("N.") ends a sentence only before a pause this long
#: abbreviations that are followed by more of the same sentence (titles before a name, "e.g.")
NEVER_END = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "mssrs",
        "prof",
        "st",
        "mt",
        "sgt",
        "capt",
        "col",
        "gen",
        "lt",
        "rev",
        "hon",
        "fr",
        "sen",
        "rep",
        "gov",
        "pres",
        "eg",
        "ie",
        "vs",
        "cf",
        "approx",
        "ca",
    ]
)
#: abbreviations that end a sentence only when a capitalised word follows
MAYBE_END = frozenset(["etc", "inc", "ltd", "co", "corp", "jr", "sr", "bros", "al"])


def _bare(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalpha())


def ends_sentence(word: str, following: str | None, pause: float = 0.0) -> bool:
    """Whether a segment may end after *word*, given the next word (None: nothing follows).

    A full stop after an abbreviation ("Dr.", "e.g."), an initial ("N."), inside a number
    ("3." before "5") or an ellipsis does not end the sentence, nor does any stop before a
    word in lower case (Whisper capitalises the first word of a sentence).

    Examples
    --------
    >>> ends_sentence(" Dr.", " Okafor"), ends_sentence(" N.", " G."), ends_sentence(" well...", " I")
    (False, False, False)
    >>> ends_sentence(" today.", " She"), ends_sentence(" etc.", " She"), ends_sentence(" I.", " She", 0.5)
    (True, True, True)
    """
    text = word.strip().rstrip("\"')»”’")
    if not text.endswith(SENTENCE_END):
        return False
    if following is None:
        return True
    after = following.strip().lstrip("\"'(«“‘¿¡")
    if after[:1].islower():
        return False
    if text.endswith(("...", "…")):
        return False
    if text.endswith("."):
        bare = _bare(text)
        if bare in NEVER_END:
            return False
        if bare in MAYBE_END:
            return after[:1].isupper()
        if len(bare) == 1 and text[-2:-1].isalpha():  # an initial: "N." (or a pronoun "I." at the end)
            return pause >= INITIAL_PAUSE and len(_bare(after)) > 1
        if text[-2:-1].isdigit() and after[:1].isdigit():  # "3." "5" is a number split in two
            return False
    return True
