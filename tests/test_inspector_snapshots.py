"""SVG snapshots of the inspector's main screens at 80×24 and 120×40
(update with `pytest tests/test_inspector_snapshots.py --snapshot-update`, then look at them)."""
import sys
import types

import numpy as np
import pytest

from inspector.app import InspectorApp
from inspector.document import Document
from test_inspector_samples import big_codestream, small_codestream, small_container, truncated_codestream

pytest.importorskip("pytest_textual_snapshot")


def app_for(data: bytes, name: str) -> InspectorApp:
    return InspectorApp(Document.from_bytes(data, name), validate_in_background=False)


async def select_num_chs(pilot):
    pilot.app.jump(pilot.app.doc.root.get("PIH/component[1]/num_chs"))
    await pilot.pause()


def test_main_screen_80x24_bit_field(snap_compare):
    assert snap_compare(app_for(small_codestream(), "small.jaic"), terminal_size=(80, 24),
                        run_before=select_num_chs)


def test_main_screen_120x40_container(snap_compare):
    async def open_item(pilot):
        app = pilot.app
        app.jump(next(n for n in app.doc.root.walk() if n.name == "SORP"))
        await pilot.pause()
    assert snap_compare(app_for(small_container(), "small.jai"), terminal_size=(120, 40), run_before=open_item)


def test_findings_tab_80x24_truncated(snap_compare):
    assert snap_compare(app_for(truncated_codestream(), "cut.jaic"), terminal_size=(80, 24), press=["2"])


def test_stats_tab_120x40_threads_and_regions(snap_compare):
    assert snap_compare(app_for(big_codestream(), "big.jaic"), terminal_size=(120, 40), press=["3"])


def test_help_screen_80x24(snap_compare):
    assert snap_compare(app_for(small_codestream(), "small.jaic"), terminal_size=(80, 24), press=["question_mark"])


def test_preview_tab_120x40(snap_compare, monkeypatch):
    module = types.ModuleType("codec.pipeline")
    y, x = np.mgrid[0:96, 0:128]
    picture = np.stack([x * 2, y * 2, 255 - x - y], axis=-1).clip(0, 255).astype(np.uint8)
    module.decode_array = lambda data, luma_channels=None, chroma_channels=None: picture
    monkeypatch.setitem(sys.modules, "codec.pipeline", module)

    async def decode(pilot):
        await pilot.press("4")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    assert snap_compare(app_for(small_codestream(), "small.jaic"), terminal_size=(120, 40), run_before=decode)
