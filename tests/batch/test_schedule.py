"""largest_first: the order a parallel run hands out images in."""

from dataclasses import dataclass

import pytest

from bgremove.batch.schedule import largest_first


@dataclass
class _T:
    name: str
    size: int


def _names(tasks):
    return [t.name for t in tasks]


def test_every_task_comes_out_once():
    tasks = [_T(str(i), (i * 37) % 11) for i in range(100)]
    out = list(largest_first(iter(tasks), window=8))
    assert sorted(_names(out), key=int) == _names(tasks)


def test_a_window_covering_everything_sorts_by_size_ties_in_discovery_order():
    tasks = [_T("a", 1), _T("b", 5), _T("c", 5), _T("d", 3)]
    assert _names(largest_first(tasks, window=10)) == ["b", "c", "d", "a"]


def test_the_run_ends_on_the_smallest_of_the_last_window():
    # a big image discovered last is handed out before the small ones that came just before it
    tasks = [_T(f"s{i}", 10) for i in range(10)] + [_T("big", 1000)]
    out = _names(largest_first(tasks, window=4))
    assert out.index("big") < len(out) - 3
    assert out[-1].startswith("s")


def test_reads_at_most_window_items_ahead():
    pulled = []

    def source():
        for i in range(50):
            pulled.append(i)
            yield _T(str(i), i)

    it = largest_first(source(), window=5)
    next(it)
    assert len(pulled) == 5


def test_window_must_be_positive():
    with pytest.raises(ValueError):
        list(largest_first([], window=0))
