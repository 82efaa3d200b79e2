"""Markdown rendering of the benchmark results (number formats, target table, error lines)."""

from __future__ import annotations

from alttrain.bench.report import fmt_bytes, fmt_ratio, fmt_seconds, render_markdown


def test_number_formats():
    assert fmt_seconds(0.000412) == "412 us"
    assert fmt_seconds(0.00321) == "3.21 ms"
    assert fmt_seconds(1.5) == "1.5 s"
    assert fmt_seconds(150) == "2.5 min"
    assert fmt_bytes(3 * 2**20) == "3 MiB"
    assert fmt_bytes(512) == "512 B"
    assert fmt_ratio(1.234) == "1.23x"
    assert fmt_ratio(0.00047) == "0.00047x"
    assert fmt_ratio(None) == "-"


def test_markdown_lists_targets_rows_and_errors():
    results = {
        "created": "2026-01-01T00:00:00+00:00",
        "settings": {"tiny": False, "repeats": 7, "warmup": 2},
        "environment": {"machine": {"cpu": "CPU"}, "versions": {"torch": "2"}, "device": {"type": "cpu"}},
        "cases": {
            "demo": {
                "name": "demo",
                "title": "Demo case",
                "status": "partial",
                "sizes": {"mlp": "784-256"},
                "rows": [
                    {
                        "name": "g: a",
                        "group": "g",
                        "variant": "a",
                        "median_s": 0.002,
                        "ratio": 1.0,
                        "baseline": "g: a",
                        "peak_mem_bytes": 2048,
                        "flops_per_forward": 3.0,
                        "gflop_per_s": 1.5,
                    }
                ],
                "targets": [
                    {
                        "id": "t1",
                        "description": "speed-up",
                        "value": 3.2,
                        "op": ">=",
                        "threshold": 4.0,
                        "unit": "x",
                        "met": False,
                        "note": None,
                    },
                    {
                        "id": "t2",
                        "description": "share",
                        "value": None,
                        "op": "<",
                        "threshold": 5.0,
                        "unit": "%",
                        "met": None,
                        "note": None,
                    },
                ],
                "notes": ["a note"],
                "errors": [{"what": "part b", "error": "KeyError: 'x'"}],
            }
        },
    }
    text = render_markdown(results)
    assert "| speed-up | 3.20x | >= 4.00x | **no** |" in text
    assert "| share | not measured | < 5.00 % | n/a |" in text
    assert "| g: a | 2 ms | - | 1.00x | a | 2 KiB | 3 | 1.5 | - |" in text
    assert "error in part b: `KeyError: 'x'`" in text
    assert "- a note" in text
