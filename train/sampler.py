"""An endless, weighted, resumable stream of samples drawn from several sources.

Sample number `pos` (counted from the start of training) picks its source with probability
proportional to the source weights; within a source, items come from a fresh seeded permutation
each time the source is exhausted (every item once per cycle). Everything is a pure function of
(seed, pos), so `start=pos` resumes the exact stream after a kill, whatever the worker count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np
from torch.utils.data import Sampler

BLOCK = 4096  # source choices are drawn in blocks: cheap to replay when resuming far in


class StreamSampler(Sampler):
    """Yields (source index, item index, pos) forever, starting at sample number `start`."""

    def __init__(
        self, sizes: Sequence[int], weights: Sequence[float], seed: int, start: int = 0
    ) -> None:
        sizes, weights = list(map(int, sizes)), list(map(float, weights))
        if len(sizes) != len(weights) or not sizes:
            raise ValueError("one weight per source is needed")
        if any(n <= 0 for n in sizes) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"empty source or bad weights: sizes={sizes} weights={weights}")
        self.sizes, self.seed, self.start = sizes, int(seed), int(start)
        self.probs = np.asarray(weights) / sum(weights)

    def block_sources(self, block: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0x5A, block])
        return rng.choice(len(self.sizes), size=BLOCK, p=self.probs)

    @lru_cache(maxsize=64)  # noqa: B019 - a few permutations per sampler; the sampler is long-lived
    def permutation(self, source: int, cycle: int) -> np.ndarray:
        return np.random.default_rng([self.seed, 0xA5, source, cycle]).permutation(
            self.sizes[source]
        )

    def item(self, source: int, k: int) -> int:
        """The k-th item (counting from the start of training) drawn from `source`."""
        cycle, i = divmod(k, self.sizes[source])
        return int(self.permutation(source, cycle)[i])

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        first = self.start // BLOCK
        counts = np.zeros(len(self.sizes), np.int64)
        for block in range(first):  # replay how often each source was drawn before `start`
            counts += np.bincount(self.block_sources(block), minlength=len(self.sizes))
        block = first
        while True:
            for j, s in enumerate(self.block_sources(block)):
                pos = block * BLOCK + j
                k = int(counts[s])
                counts[s] += 1
                if pos >= self.start:
                    yield int(s), self.item(int(s), k), pos
            block += 1
