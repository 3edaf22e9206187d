# Hand-written conversations for the observers' tests: (from_client, bytes) pairs in
# capture order, one segment per pair, one second apart; and the fuzz strategy that
# makes random ones from pieces of a real conversation and random bytes.
from __future__ import annotations

from hypothesis import strategies as st

from labctl.analysis.results import Segment

Script = list[tuple[bool, bytes]]


def segments(script: Script, split: int = 0) -> list[Segment]:
    """The script as segments; `split` > 0 cuts each into pieces of that many octets."""
    result = []
    for second, (from_client, data) in enumerate(script):
        pieces = [data[i:i + split] for i in range(0, len(data), split)] if split else [data]
        result += [Segment(from_client, piece, float(second)) for piece in pieces]
    return result


def mangled(script: Script) -> st.SearchStrategy[list[Segment]]:
    """Segment lists mixing the script's pieces (cut, dropped, reordered) with random bytes."""
    piece = st.one_of(
        st.tuples(st.booleans(), st.binary(max_size=64)),
        st.sampled_from(script),
        st.sampled_from(script).flatmap(lambda pair: st.tuples(
            st.just(pair[0]), st.integers(0, len(pair[1])).map(lambda n: pair[1][:n]))),
    )
    return st.lists(piece, max_size=30).map(segments)
