"""The verification report in a real browser (headless Chromium): no console message, every image decodes,
every link resolves, a reasonable size. The smoke DAG's own report is checked the same way in
tests/test_workflow.py (slow)."""

from __future__ import annotations

import base64
import struct
import zlib

import pandas as pd

from alttrain.verify import run_verification
from browser import assert_page_works, open_in_chromium, unresolved_links

PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)))
    + struct.pack(">I", 10) + b"IDAT" + zlib.compress(b"\x00\x00")
    + struct.pack(">I", zlib.crc32(b"IDAT" + zlib.compress(b"\x00\x00")))
    + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
)


def test_the_checker_flags_a_script_error_a_broken_image_and_a_dead_link(tmp_path):
    page = tmp_path / "bad.html"
    good = "data:image/png;base64," + base64.b64encode(PNG_1x1).decode()
    page.write_text(
        "<!DOCTYPE html><html><head><script>window.addEventListener('load',function(){var b=0;"
        "for(var i of document.images){if(!i.complete||i.naturalWidth===0){b++;}}"
        "document.body.setAttribute('data-broken-images',b);});</script></head><body>"
        f"<img src='{good}'><img src='data:image/png;base64,AAAA'><a href='figures/none.png'>x</a>"
        "<script>notDefined();</script></body></html>"
    )
    loaded = open_in_chromium(page, tmp_path / "profile")
    assert loaded["body"]["data-broken-images"] == "1"  # the truncated PNG, not the valid one
    assert any("notDefined" in line for line in loaded["console"])
    assert unresolved_links(page) == ["figures/none.png"]


def test_verification_report_loads_in_chromium(tmp_path):
    published = tmp_path / "fg.yaml"
    published.write_text(
        "paper: fg\ntitle: T\narxiv: '2410.17764'\ntolerance_rule: r\nentries:\n"
        + "".join(
            f"- {{id: r{i}, version: v1, artifact: fg_tab_lrs_math, row: r, column: c, value: {0.5 + i}, "
            "source: s, experiment: closed_form_sphere, select: {n: 4}, metric: final_value_search, "
            "comparable_scales: [smoke], tolerance: {rank: 0.1}, gap_to: f_min}\n"
            for i in range(6)
        )
    )
    metrics = tmp_path / "metrics"
    (metrics / "fg").mkdir(parents=True)
    pd.DataFrame(
        {"n": 4, "seed": range(20), "final_value_search": [float(v) for v in range(20)], "f_min": 0.0,
         "diverged": False, "scale": "smoke", "dataset": "closed form"}
    ).to_csv(metrics / "fg" / "closed_form_sphere.csv", index=False)
    figures = tmp_path / "figures"
    run_verification("smoke", ["fg"], {"fg": published}, metrics, figures_dir=figures,
                     tables_dir=tmp_path / "tables", check_experiments=False, out_dir=tmp_path / "out")
    page = tmp_path / "out" / "report.html"
    assert "<svg" in page.read_text()  # the rank histogram
    assert_page_works(page, tmp_path / "profile", max_bytes=10_000_000)
