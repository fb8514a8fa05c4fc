"""VCR-style question -> answer -> rationale, four choices each, over one scene.

    question   "what color is the (small) [r] ?"          [r] refers to region r (an object)
    answers    "[r] is red ."  x 4 distinct colours        the true colour is the answer
    rationales "[r] is red and the image also has a small blue ring ." x 4: the right one
               names another object really in the image; the wrong ones name combinations
               absent from it and not fitting the question's naming of its object (all four
               repeat the true colour, so only the image decides).
The question names its object uniquely: by its shape when no other object has that shape,
else by size and shape; an image where neither singles any object out gets no question. (A
reference renders as its class name only, and the models do not read the `*_obj` alignment,
so a bare "circle" in a scene with two circles could not be answered.)
Token lists follow VCR: a token is a word or a list of region indices. The rendered id lists
spell a reference as its region's class name and map each of its WordPieces to the region
index in the parallel `*_obj` lists (-1 for plain words).
"""

from __future__ import annotations

import numpy as np

from vlkit.data.synthetic.features import LABEL_NAMES
from vlkit.data.synthetic.language import absent_combo, unique_choice
from vlkit.data.synthetic.scene import COLOURS, SHAPES, SIZES, SceneImage

NUM_CHOICES = 4
# How a question may name its object: shape alone, or size and shape (the answer is a colour).
NAMINGS = (("shape",), ("size", "shape"))
Tokens = list  # list[str | list[int]]


def region_classes(item: SceneImage) -> list[str]:
    """Class name of every region: the object's shape, or "background" for a distractor."""
    names = [LABEL_NAMES[0]] * item.num_regions
    for k, region in enumerate(item.obj_region):
        names[int(region)] = SHAPES[item.scene.shape[k]]
    return names


def render(tokens: Tokens, objects: list[str], encode) -> tuple[str, list[int], list[int]]:
    """(text, WordPiece ids, region index per id or -1) of a VCR token list."""
    words, ids, obj = [], [], []
    for tok in tokens:
        if isinstance(tok, list):
            for r in tok:
                piece = encode(objects[r])
                words.append(objects[r])
                ids += piece
                obj += [r] * len(piece)
        else:
            piece = encode(tok)
            words.append(tok)
            ids += piece
            obj += [-1] * len(piece)
    return " ".join(words), ids, obj


def _choices(rng: np.random.Generator, right: Tokens, wrong: list[Tokens]) -> tuple[list, int]:
    label = int(rng.integers(NUM_CHOICES))
    choices = list(wrong)
    choices.insert(label, right)
    return choices, label


def _fits(combo: tuple, row: tuple[int, int, int], attrs: tuple[str, ...]) -> bool:
    """Whether a (size, colour, shape) combination fits the question's naming of the object
    (`row` its (size, colour, shape)). The right rationale's object never does (the naming is
    unique), so wrong ones may not either: else the text alone would rule them out."""
    return combo[2] == row[2] and ("size" not in attrs or combo[0] == row[0])


def vcr_records(item: SceneImage, rng: np.random.Generator, encode) -> list[dict]:
    """Up to one question about one image (none when no object can be named uniquely);
    `encode(text) -> list[int]` is the WordPiece encoder."""
    scene = item.scene
    choice = unique_choice(scene, rng, NAMINGS)
    if choice is None:
        return []
    k, attrs = choice
    ref = [int(item.obj_region[k])]
    colour = COLOURS[scene.colour[k]]
    size = [SIZES[scene.size[k]]] if "size" in attrs else []
    question = ["what", "color", "is", "the", *size, ref, "?"]
    wrong_colours = [COLOURS[c] for c in rng.permutation(len(COLOURS)) if c != scene.colour[k]]
    answers, answer_label = _choices(
        rng, [ref, "is", colour, "."], [[ref, "is", c, "."] for c in wrong_colours[:3]])
    other = int(rng.choice([j for j in range(scene.num_objects) if j != k]))
    head = [ref, "is", colour, "and", "the", "image", "also", "has", "a"]
    right = head + [SIZES[scene.size[other]], COLOURS[scene.colour[other]],
                    SHAPES[scene.shape[other]], "."]
    wrong, seen = [], set()
    while len(wrong) < NUM_CHOICES - 1:
        combo = absent_combo(scene, rng, size=True)
        if combo not in seen and not _fits(combo, scene.rows[k], attrs):
            seen.add(combo)
            wrong.append(head + [SIZES[combo[0]], COLOURS[combo[1]], SHAPES[combo[2]], "."])
    rationales, rationale_label = _choices(rng, right, wrong)
    objects = region_classes(item)
    text, q_ids, q_obj = render(question, objects, encode)
    rendered_a = [render(a, objects, encode) for a in answers]
    rendered_r = [render(r, objects, encode) for r in rationales]
    return [{"id": f"{item.img_id}-vcr0", "text": text, "input_ids": q_ids,
             "img_id": item.img_id, "question": question, "answer_choices": answers,
             "rationale_choices": rationales, "answer_label": answer_label,
             "rationale_label": rationale_label, "objects": objects,
             "question_ids": q_ids, "question_obj": q_obj,
             "answer_ids": [a[1] for a in rendered_a], "answer_obj": [a[2] for a in rendered_a],
             "rationale_ids": [r[1] for r in rendered_r],
             "rationale_obj": [r[2] for r in rendered_r]}]
