"""Usage normalization and cost from catalogue prices (USD per million tokens)."""

from __future__ import annotations

import pytest

from reqllm import Usage
from reqllm._usage import build_usage, cost_of
from reqllm.registry import Cost, Model

PRICED = Model(provider="openai", id="gpt-4o-mini", cost=Cost(input=0.15, output=0.6, cache_read=0.075))
UNPRICED = Model(provider="openai", id="gpt-9", uncatalogued=True)


def test_counts_become_usage_with_total_and_cost() -> None:
    usage = build_usage({"input_tokens": 1000, "output_tokens": 200}, PRICED)
    assert usage.model_dump(exclude={"cost"}) == Usage(input_tokens=1000, output_tokens=200,
                                                       total_tokens=1200).model_dump(exclude={"cost"})
    assert usage.cost == pytest.approx((1000 * 0.15 + 200 * 0.6) / 1e6)


def test_a_reported_total_is_kept() -> None:
    counts = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 20}
    assert build_usage(counts, PRICED).total_tokens == 20


def test_cached_tokens_are_priced_as_cache_reads() -> None:
    usage = build_usage({"input_tokens": 2000, "cached_tokens": 1500, "output_tokens": 100}, PRICED)
    assert usage.cost == pytest.approx((500 * 0.15 + 1500 * 0.075 + 100 * 0.6) / 1e6)


def test_cache_writes_and_missing_cache_prices_fall_back_to_input() -> None:
    anthropic = Model(provider="anthropic", id="claude", cost=Cost(input=3.0, output=15.0, cache_read=0.3,
                                                                   cache_write=3.75))
    usage = build_usage({"input_tokens": 1300, "cached_tokens": 1000, "cache_write_tokens": 200,
                         "output_tokens": 10}, anthropic)
    assert usage.cost == pytest.approx((100 * 3.0 + 1000 * 0.3 + 200 * 3.75 + 10 * 15.0) / 1e6)
    plain = Model(provider="x", id="y", cost=Cost(input=1.0, output=2.0))
    usage = build_usage({"input_tokens": 100, "cached_tokens": 60, "output_tokens": 10}, plain)
    assert usage.cost == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)


def test_reasoning_tokens_are_output_unless_priced_apart() -> None:
    counts = {"input_tokens": 100, "output_tokens": 500, "reasoning_tokens": 400}
    same = Model(provider="x", id="o", cost=Cost(input=1.0, output=4.0))
    assert build_usage(counts, same).cost == pytest.approx((100 * 1.0 + 500 * 4.0) / 1e6)
    apart = Model(provider="x", id="o", cost=Cost(input=1.0, output=4.0, reasoning=2.0))
    assert build_usage(counts, apart).cost == pytest.approx((100 * 1.0 + 400 * 2.0 + 100 * 4.0) / 1e6)


def test_unpriced_is_none_not_zero() -> None:
    assert build_usage({"input_tokens": 10, "output_tokens": 5}, UNPRICED).cost is None
    half = Model(provider="x", id="y", cost=Cost(input=1.0))
    assert build_usage({"input_tokens": 10, "output_tokens": 5}, half).cost is None


def test_no_reported_usage_has_unknown_cost() -> None:
    for counts in (None, {}):
        usage = build_usage(counts, PRICED)
        assert usage.input_tokens == usage.output_tokens == usage.total_tokens == 0
        assert usage.cost is None


def test_reported_zero_tokens_cost_zero() -> None:
    assert build_usage({"input_tokens": 0, "output_tokens": 0}, PRICED).cost == 0.0


def test_counts_are_coerced_to_int() -> None:
    usage = build_usage({"input_tokens": 12.0, "output_tokens": None, "cached_tokens": "3"}, PRICED)
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (12, 0, 3)


def test_cost_of_rounds_to_ten_decimals() -> None:
    cost = cost_of(Usage(input_tokens=1, output_tokens=1), PRICED)
    assert cost == round((0.15 + 0.6) / 1e6, 10)
