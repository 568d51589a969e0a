"""Writes the toy corpus used by the tests (run from the repo root: python tests/data/make_toy.py).

A made-up language pair: each source word maps to one target word and the target reverses the
order, so a tiny attention model can learn it exactly.
"""

import random
from pathlib import Path

SRC = "the a red blue green big small cat dog bird sees eats runs jumps over under near".split()
TGT = "der ein rot blau gruen gross klein katze hund vogel sieht isst rennt springt ueber unter nahe".split()
MAP = dict(zip(SRC, TGT))


def main() -> None:
    rng = random.Random(7)
    out = Path(__file__).parent / "toy"
    for split, n in (("train", 50), ("dev", 10), ("test", 10)):
        src = [" ".join(rng.choice(SRC) for _ in range(rng.randint(3, 7))) for _ in range(n)]
        tgt = [" ".join(MAP[w] for w in reversed(s.split())) for s in src]
        (out / f"{split}.en").write_text("".join(s + "\n" for s in src))
        (out / f"{split}.de").write_text("".join(t + "\n" for t in tgt))


if __name__ == "__main__":
    main()
