"""A generated evaluation set: passages about invented things, and questions with known answers.

Each passage describes one invented entity (a made-up name, so no model has seen it) with
several attributes. Half of the questions name the entity (keywords help), half describe it
in other words than the passage uses (synonyms for its kind, emblem and fame: meaning
helps), so vector-only, keyword-only and hybrid retrieval can each win some.
Deterministic for a given seed.
"""

from __future__ import annotations

import random

SYLLABLES = ["ka", "lo", "mir", "tan", "vel", "dro", "qui", "zen", "pa", "rho", "sul", "ith", "gor", "nep", "wya"]
KINDS = [("town", "settlement"), ("river", "waterway"), ("festival", "celebration"), ("machine", "device"),
         ("plant", "flowering herb"), ("ship", "vessel"), ("dish", "recipe"), ("mountain", "peak")]
FAMOUS = [("copper bridges", "metal crossings over water"), ("night markets", "trading after dark"),
          ("glass towers", "transparent high buildings"), ("honey wine", "a fermented drink made by bees' work"),
          ("clockwork toys", "wind-up mechanical playthings"), ("salt caves", "underground mineral caverns"),
          ("silk weaving", "making fine cloth from cocoons"), ("falcon racing", "competitions of birds of prey"),
          ("ice sculptures", "carvings of frozen water"), ("purple dye", "a violet colouring for fabric"),
          ("stone libraries", "book halls built of rock"), ("tidal mills", "grinding powered by the sea")]
# The emblem is written one way in the passage and another way in the question.
COLOURS = [("crimson", "red"), ("azure", "sky-blue"), ("emerald", "green"), ("golden", "yellow"),
           ("ivory", "off-white"), ("ebony", "jet-black"), ("violet", "purple"), ("amber", "orange")]
ANIMALS = [("stallion", "horse"), ("hound", "dog"), ("feline", "cat"), ("raven", "black bird"),
           ("serpent", "snake"), ("stag", "male deer"), ("hare", "rabbit"), ("salmon", "fish")]
FOUNDERS = ["Ada Korrin", "Bela Tusk", "Cyr Anholt", "Dana Vey", "Emre Solis", "Fen Ardo", "Gia Lumen", "Hal Brenn"]
FILLER = ("Visitors often arrive in spring. Local guides describe the history in long evening talks. "
          "Records from the archive mention several disputes about borders and taxes. ")


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in used:
            used.add(name)
            return name


def build(n_passages: int = 400, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """(passages [{id, title, text}], questions [{query, answer_id, kind}])."""
    rng = random.Random(seed)
    used: set[str] = set()
    passages, questions = [], []
    for i in range(n_passages):
        name = _name(rng, used)
        kind, kind_other = rng.choice(KINDS)
        famous, famous_other = rng.choice(FAMOUS)
        founder = rng.choice(FOUNDERS)
        year = rng.randint(1200, 1990)
        colour, colour_other = rng.choice(COLOURS)
        animal, animal_other = rng.choice(ANIMALS)
        text = (f"{name} is a {kind} first recorded in {year}. It is best known for its {famous}. "
                f"Its emblem shows a {colour} {animal}. "
                f"According to the chronicles it was established by {founder}. " + FILLER * rng.randint(1, 3))
        passages.append({"id": i, "title": f"{name.lower()}.md", "text": text})
        questions.append({"query": f"When was {name} first recorded?", "answer_id": i, "kind": "named"})
        questions.append({"query": f"Which {kind_other} has a {colour_other} {animal_other} on its coat of arms "
                                   f"and is renowned for {famous_other}?", "answer_id": i, "kind": "described"})
    return passages, questions
