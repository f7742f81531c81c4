"""Does a copy finding's message say how the pair differs, and does it say something that was not
done? Shared by the two leakage benchmarks (scripts/bench_heldout.py, scripts/bench_families.py),
whose edit families have their own names (EDIT_OF maps them onto one set of edits).

- `names_edit(family, message)`: the message holds one of the words DESCRIBED gives for the edit
  (None when the edit has no words: nothing the scan's table can tell, e.g. a lossless re-save);
- `wrong_claims(families, message)`: the claims of the message (CLAIMS: words that name an edit)
  that none of the pair's edits can explain, e.g. "greyscale" on a sharpened copy, "caption" on a
  resized one. Facts the table states whatever the edit (another size, another file format, a
  mirror found by the alignment) are not claims. A wrong claim is worse than a silent message.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

# family name of either benchmark -> edit
EDIT_OF = {"crop_off_centre": "crop", "crop_shift": "crop", "rotate_crop": "turn", "rotate_fill": "turn",
           "rotate": "turn"}

# words a finding's message should hold for an edit it can tell (any one of them, case-insensitive)
DESCRIBED = {
    "greyscale": ("greyscale",), "resize": ("resized",), "crop": ("cropped", "off-centre"),
    "turn": ("turned",), "text": ("text", "caption", "mark"), "webp": ("WEBP",),
    "saturation": ("saturat",), "white_balance": ("colour balance", "warmer", "cooler", "tint"),
    "gamma": ("brighter", "darker", "contrast"), "contrast": ("contrast", "brighter", "darker"),
    "pad": ("border", "pad"), "shift": ("shift", "off-centre"), "blur": ("blur", "softer"),
    "denoise": ("blur", "softer", "smoothed"), "sharpen": ("sharper", "sharpened"),
}

# claims of several words that name edits in either file (the table cannot tell a blurred copy of
# a sharp picture from a sharpened copy of a soft one): one claim each, read before CLAIMS
COMPOUND = ((re.compile(r"(more|less) fine detail \([^)]*\)"), "fine detail", {"blur", "denoise", "sharpen"}),)
# claims a message can make -> the edits that explain them (a claim any of them explains is right)
CLAIMS = (
    ("greyscale", {"greyscale"}),
    ("colour", {"saturation", "white_balance", "greyscale"}),
    ("saturat", {"saturation", "greyscale"}),
    ("warmer", {"white_balance"}), ("cooler", {"white_balance"}), ("tint", {"white_balance"}),
    ("brighter", {"gamma", "contrast", "white_balance", "greyscale"}),
    ("darker", {"gamma", "contrast", "white_balance", "greyscale"}),
    ("contrast", {"gamma", "contrast", "greyscale"}),
    ("text", {"text"}), ("caption", {"text"}), ("mark", {"text"}),
    ("turned", {"turn"}),
    ("cropped", {"crop", "turn", "shift", "pad"}), ("more at the borders", {"crop", "turn", "shift", "pad"}),
    ("padd", {"pad"}), ("shifted", {"shift"}),
    ("blur", {"blur", "denoise"}), ("softer", {"blur", "denoise"}), ("smoothed", {"blur", "denoise"}),
    ("sharper", {"sharpen"}), ("sharpened", {"sharpen"}),
)


def edit(family: str) -> str:
    return EDIT_OF.get(family, family)


def how_part(message: str) -> str:
    """The part of a copy finding's message that says how the pair differs: between the head
    ("Near duplicate: A is a near copy of B") and the scores in parentheses (whose "fine detail"
    and "thumbnail" are no claims); the whole message if it has no such parts."""
    head, sep, rest = message.split(" (perceptual-hash distance", 1)[0].partition("; ")
    return rest if sep else ""


def names_edit(family: str, message: str) -> bool | None:
    words = DESCRIBED.get(edit(family))
    if not words:
        return None
    how = how_part(message).lower()
    return any(w.lower() in how for w in words)


def wrong_claims(families: Iterable[str], message: str) -> list[str]:
    done = {edit(f) for f in families}
    how = how_part(message).lower()
    bad = []
    for pattern, word, why in COMPOUND:
        if pattern.search(how):
            how = pattern.sub("", how)
            if not why & done:
                bad.append(word)
    return bad + [word for word, why in CLAIMS if word in how and not (why & done)]


def tally(found: Iterable[tuple[Iterable[str], str]]) -> tuple[dict, dict, list]:
    """Over (families of a pair, its message) of found copies: per family [named, out of],
    per family the messages with a wrong claim, and the wrong ones [(families, claims, message)]."""
    named: dict[str, list[int]] = {}
    wrong: dict[str, int] = {}
    examples = []
    for fams, message in found:
        fams = list(fams)
        for fam in fams:
            said = names_edit(fam, message)
            if said is not None:
                t = named.setdefault(fam, [0, 0])
                t[0] += said
                t[1] += 1
        bad = wrong_claims(fams, message)
        if bad:
            for fam in fams:
                wrong[fam] = wrong.get(fam, 0) + 1
            examples.append(("+".join(fams), bad, how_part(message)))
    return named, wrong, examples


def summary(found: Iterable[tuple[Iterable[str], str]]) -> list[str]:
    """Report lines: per family how often the message names the edit, how many messages name an
    edit that was not made, and those messages."""
    found = list(found)
    named, wrong, examples = tally(found)
    lines = ["  messages saying the edit (found copies): "
             + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(named.items())),
             f"  messages naming an edit not made: {len(examples)} of {len(found)}"
             + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(wrong.items())) + ")" if wrong else "")]
    for fams, bad, how in examples:
        lines.append(f"    WRONG {fams}: {', '.join(bad)}: {how[:150]}")
    return lines
