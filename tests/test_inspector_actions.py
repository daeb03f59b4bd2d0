"""Pilot-driven behaviour of `jpegai-inspect`: every pane and every action, on files built
by the project's writer (valid, truncated, container, multi-thread/region)."""
import asyncio
import io
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Input, Static, TabbedContent

from inspector.app import InspectorApp, main
from inspector.details_pane import DetailsPane
from inspector.document import Document, node_at_byte
from inspector.findings_pane import FindingsTable
from inspector.hex_view import BitRuler, HexView
from inspector.preview import GraphicsImage, HalfBlockImage, resolve_graphics
from inspector.screens import HelpScreen, PromptScreen
from inspector.tree_pane import SyntaxTree
from jpegai_fmt.errors import BuildError, ModelMismatchError
from test_inspector_samples import (big_codestream, invalid_codestream, small_codestream, small_container,
                                    truncated_codestream)


def drive(data: bytes, script, size=(80, 24), name="sample.jaic"):
    """Open `data` in the app at `size`, run `script(app, pilot)`, return the app."""
    app = InspectorApp(Document.from_bytes(data, name), validate_in_background=False)

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, pilot)
    asyncio.run(go())
    return app


def text_of(app, selector) -> str:
    return str(app.query_one(selector, Static).content)


async def answer(app, pilot, key: str, text: str) -> None:
    """Open a prompt with `key`, type `text` over the default and press Enter."""
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


def test_tree_cursor_selects_node_in_details_and_hex():
    async def script(app, pilot):
        assert app.current is app.doc.root
        await pilot.press("down", "down")
        pih = app.doc.root.get("PIH")
        assert app.current is pih
        assert app.query_one(HexView).bits == (pih.bit_offset, pih.bit_length)
        details = text_of(app, "#details-body")
        assert "PIH" in details and f"byte {pih.byte_offset}" in details
        await pilot.press("enter")  # expands lazily: the header fields appear
        await pilot.press("down", "down", "down", "down")
        assert app.current.parent is pih and app.current.kind == "field"
    drive(small_codestream(), script)


def test_bit_field_details_and_ruler_show_exact_bits():
    async def script(app, pilot):
        await answer(app, pilot, "slash", "num_chs")
        node = app.current
        assert node.name == "num_chs" and node.value == 160
        details = text_of(app, "#details-body")
        end = node.bit_offset + node.bit_length - 1
        assert f"bits {node.bit_offset}..{end}" in details and f"{node.bit_length} bits" in details
        assert f"{160:0{node.bit_length}b}" in details  # the raw bits as stored
        ruler = str(app.query_one(BitRuler).content)
        assert ruler.startswith(f"bits {node.bit_offset}..{end}:")
    drive(small_codestream(), script)


def test_search_and_next_match_cycle_through_threads():
    async def script(app, pilot):
        await answer(app, pilot, "slash", "thread[")
        seen = [app.current.path]
        for _ in range(3):
            await pilot.press("n")
            seen.append(app.current.path)
        assert seen == ["SORP/region[0]/thread[0]", "SORS/region[0]/thread[0]", "SOZ/thread[0]",
                        "SORP/region[0]/thread[0]"]
        tree = app.query_one(SyntaxTree)
        assert tree.cursor_node.data is app.current  # the tree opened down to the match
        await answer(app, pilot, "slash", "no_such_field")
        assert app.current.path == "SORP/region[0]/thread[0]"
        assert any("no field matches" in n.message for n in app._notifications)
    drive(small_codestream(), script)


def test_goto_offset_selects_the_covering_node():
    data = small_codestream()

    async def script(app, pilot):
        await answer(app, pilot, "g", "0x30")
        assert app.current is node_at_byte(app.doc.root, 0x30)
        assert app.current.byte_offset <= 0x30 < app.current.byte_end
        assert app.query_one(HexView).cursor == 0x30
        assert app.query_one(TabbedContent).active == "hex-tab"
        before = app.current
        await answer(app, pilot, "g", str(len(data) + 5))
        await answer(app, pilot, "g", "zz")
        assert app.current is before
        messages = [n.message for n in app._notifications]
        assert any("outside the file" in m for m in messages) and any("not an offset" in m for m in messages)
    drive(data, script)


def test_clicking_and_keys_in_hex_view_select_the_node():
    async def script(app, pilot):
        hex_view = app.query_one(HexView)
        assert hex_view.per_row == 8  # at 80 columns
        await pilot.click("#hex", offset=(10 + 3 * 2, 1))  # row 1, column 2: byte 10
        await pilot.pause()
        assert app.current is node_at_byte(app.doc.root, 10) and hex_view.cursor == 10
        assert app.query_one(SyntaxTree).cursor_node.data is app.current
        await pilot.press("down", "right", "enter")  # byte 10 + 8 + 1
        await pilot.pause()
        assert app.current is node_at_byte(app.doc.root, 19) and hex_view.cursor == 19
        await pilot.click("#hex", offset=(11 + 3 * 8 + 5, 0))  # the ASCII column: byte 5
        await pilot.pause()
        assert app.current is node_at_byte(app.doc.root, 5)
    drive(small_codestream(), script)


def test_invalid_file_opens_with_error_nodes_and_the_rest_browsable():
    async def script(app, pilot):
        error = app.doc.root.get("SOZ/error")
        assert error is not None and error.kind == "error"
        assert app.doc.root.get("PIH/component[0]/num_chs") is not None
        await answer(app, pilot, "slash", "error")
        assert app.current is error
        assert "ParseError" not in text_of(app, "#details-body")  # a described error, no traceback
    drive(invalid_codestream(), script)


def test_truncated_file_findings_jump_to_their_node():
    async def script(app, pilot):
        table = app.query_one(FindingsTable)
        rules = [f.rule for f in table.findings]
        assert "SEG-003" in rules and table.row_count == len(rules)
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "findings-tab" and table.has_focus
        row = rules.index("SEG-003")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await pilot.pause()
        finding = table.findings[row]
        assert finding in app.current.findings
        assert app.query_one(SyntaxTree).cursor_node.data is app.current
        assert "SEG-003" in text_of(app, "#details-body")
    drive(truncated_codestream(), script)


def test_real_stream_cut_inside_a_payload_shows_an_error_node_and_the_rest_browses():
    data = (Path(__file__).resolve().parent.parent / "samples" / "valid" / "enc-threads-8.jaic").read_bytes()
    cut = data[:len(data) - 40]  # inside SOZ: SOZ is cut short, EOC is lost

    async def script(app, pilot):
        broken = app.doc.root.children[-1]
        assert (broken.name, broken.kind, broken.byte_end) == ("SOZ", "error", len(cut))
        row = app.query_one(SyntaxTree).root.children[-1]
        assert row.data is broken and str(row.label).startswith("SOZ SOZ payload of")
        table = app.query_one(FindingsTable)
        await pilot.press("2")
        table.move_cursor(row=[f.rule for f in table.findings].index("SEG-003"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.current is broken and app.query_one(HexView).bits == (broken.bit_offset, broken.bit_length)
        details = text_of(app, "#details-body")
        assert "kind error" in details and "SEG-003" in details and "bytes past the end" in details
        await answer(app, pilot, "slash", "SORS/region[0]/thread[7]")  # segments before the cut: whole
        assert app.current.kind == "payload" and app.current.byte_end <= broken.byte_offset
    drive(cut, script)


def test_export_tree_as_json(tmp_path):
    out = tmp_path / "tree.json"

    async def script(app, pilot):
        await answer(app, pilot, "e", str(out))
    app = drive(small_container(), script)
    exported = json.loads(out.read_text())
    assert exported == json.loads(json.dumps(app.doc.root.to_dict(), default=str))
    assert exported["children"][0]["name"] == "ftyp"
    assert [p.name for p in tmp_path.iterdir()] == ["tree.json"]  # no temporary file left


def test_export_to_an_unwritable_place_is_a_message(tmp_path):
    async def script(app, pilot):
        await answer(app, pilot, "e", str(tmp_path / "missing" / "tree.json"))
        assert any("cannot write" in n.message for n in app._notifications)
    drive(small_codestream(), script)


@pytest.fixture
def fake_extract(monkeypatch):
    calls = []

    def extract(data, luma_channels=None, chroma_channels=None):
        calls.append((luma_channels, chroma_channels))
        if luma_channels == 0:
            raise BuildError("cannot keep zero luma channels")
        return data[:20], {"output_bytes": 20}
    module = types.ModuleType("jpegai_fmt.extract")
    module.extract = extract
    monkeypatch.setitem(sys.modules, "jpegai_fmt.extract", module)
    return calls


def test_extract_current_channel_selection(tmp_path, fake_extract):
    data = small_codestream()
    out = tmp_path / "cut.jaic"

    async def script(app, pilot):
        await pilot.press("left_square_bracket", "left_square_bracket", "right_curly_bracket",
                          "left_curly_bracket")
        assert (app.selection.luma, app.selection.chroma) == (144, 88)
        await answer(app, pilot, "x", str(out))
        for _ in range(18):
            await pilot.press("left_square_bracket")
        assert app.selection.luma == 0
        await answer(app, pilot, "x", str(tmp_path / "none.jaic"))
        assert any("extract failed: cannot keep zero luma" in n.message for n in app._notifications)
    drive(data, script)
    assert fake_extract == [(144, 88), (0, 88)]
    assert out.read_bytes() == data[:20]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.jaic"]


def test_extract_without_the_engine_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "jpegai_fmt.extract", None)

    async def script(app, pilot):
        await pilot.press("x")
        assert not isinstance(app.screen, PromptScreen)
        assert any("extraction is not available" in n.message for n in app._notifications)
    drive(small_codestream(), script)


def _gradient(h=48, w=64, shift=0):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 4 + shift) % 256, y * 5 % 256, (x + y) % 256], axis=-1).astype(np.uint8)


@pytest.fixture
def fake_codec(monkeypatch):
    calls = []

    def decode_array(data, luma_channels=None, chroma_channels=None):
        calls.append((data[:4], luma_channels, chroma_channels))
        if luma_channels is None:
            return _gradient()
        return _gradient(shift=(160 - luma_channels) // 8)
    module = types.ModuleType("codec.pipeline")
    module.decode_array = decode_array
    monkeypatch.setitem(sys.modules, "codec.pipeline", module)
    return calls


def test_preview_decodes_only_when_asked_then_compares_selections(fake_codec):
    async def script(app, pilot):
        await pilot.press("down", "left_square_bracket", "right_square_bracket")
        assert fake_codec == []  # nothing decoded before the preview is asked for
        await pilot.press("4")
        await app.workers.wait_for_complete()
        await pilot.pause()
        info = text_of(app, "#preview-info")
        assert "luma 160/160" in info and "PSNR vs full ∞ dB" in info and "64×48" in info
        image = app.query_one(HalfBlockImage)
        assert image._lines and image.render_line(0).cell_length == image.size.width
        await pilot.press("left_square_bracket")
        await app.workers.wait_for_complete()
        await pilot.pause()
        info = text_of(app, "#preview-info")
        assert "luma 152/160" in info and "bytes used" in info
        expected = 10 * np.log10(255 ** 2 / np.mean((_gradient(shift=1).astype(float) - _gradient()) ** 2))
        assert f"{expected:.2f} dB" in info
    drive(small_container(), script, size=(100, 30))
    # the codestream (not the container) is decoded; the full decode is kept for later comparisons
    assert fake_codec == [(b"\xff\x80\xff\x82", None, None), (b"\xff\x80\xff\x82", 152, 96)]


@pytest.mark.parametrize("failure, message", [
    (ModelMismatchError("model set 7 is not ours"), "another model set"),
    (None, "the codec is not installed"),
])
def test_preview_failures_are_messages(monkeypatch, failure, message):
    if failure is None:
        monkeypatch.setitem(sys.modules, "codec.pipeline", None)
    else:
        module = types.ModuleType("codec.pipeline")

        def decode_array(*args, **kwargs):
            raise failure
        module.decode_array = decode_array
        monkeypatch.setitem(sys.modules, "codec.pipeline", module)

    async def script(app, pilot):
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert message in text_of(app, "#preview-info")
        assert app.query_one(HalfBlockImage).loading is False
    drive(small_codestream(), script)


def test_picture_mode_key_cycles_half_blocks_kitty_sixel(fake_codec, monkeypatch):
    from textual_image.renderable import tgp
    from textual_image.widget import SixelImage, TGPImage
    sent = []
    monkeypatch.setattr(tgp, "_send_tgp_message", lambda **kw: sent.append(kw))  # no escapes to the real stdout

    async def script(app, pilot):
        await pilot.press("4")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.query_one("#preview-image"), HalfBlockImage)
        assert text_of(app, "#preview-mode").startswith("[dim][b]m[/b] picture: half blocks")
        await pilot.press("m")
        await pilot.pause()
        image = app.query_one("#preview-image", GraphicsImage)
        assert isinstance(image.inner, TGPImage) and image.inner.image.size == (64, 48)  # the decoded picture
        assert "picture: Kitty graphics (forced)" in text_of(app, "#preview-mode")
        assert any(m.get("f") == 100 and m.get("payload") for m in sent)  # picture sent as Kitty graphics
        assert any(m.get("a") == "p" for m in sent)  # and placed
        await pilot.press("m")
        await pilot.pause()
        image = app.query_one("#preview-image", GraphicsImage)
        assert isinstance(image.inner, SixelImage) and image.inner.image.size == (64, 48)
        assert "picture: Sixel (forced)" in text_of(app, "#preview-mode")
        await pilot.press("m")
        await pilot.pause()
        image = app.query_one("#preview-image", HalfBlockImage)
        assert image._lines and "picture: half blocks" in text_of(app, "#preview-mode")
        assert len(fake_codec) == 1  # switching modes redraws, it does not decode again
    drive(small_codestream(), script, size=(100, 30))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_auto_graphics_falls_back_to_half_blocks_where_the_terminal_has_none(monkeypatch):
    from textual_image import renderable
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())
    assert resolve_graphics("auto") == ("halfblock", "auto: not a terminal")
    monkeypatch.setattr(sys, "__stdout__", _Terminal())
    for found, expected in [(renderable.HalfcellImage, ("halfblock", "auto: no Kitty/Sixel")),
                            (renderable.UnicodeImage, ("halfblock", "auto: no Kitty/Sixel")),
                            (renderable.TGPImage, ("kitty", "auto: found")),
                            (renderable.SixelImage, ("sixel", "auto: found"))]:
        monkeypatch.setattr(renderable, "Image", found)
        assert resolve_graphics("auto") == expected
    assert resolve_graphics("halfblock") == ("halfblock", "forced")
    assert resolve_graphics("sixel") == ("sixel", "forced")
    monkeypatch.setitem(sys.modules, "textual_image.widget", None)
    assert resolve_graphics("kitty") == ("halfblock", "no textual-image")


def test_main_graphics_option_and_the_fallback_shown_in_the_preview(tmp_path, monkeypatch):
    path = tmp_path / "small.jaic"
    path.write_bytes(small_codestream())
    started = []
    monkeypatch.setattr(InspectorApp, "run", lambda self: started.append(self))
    monkeypatch.setattr("inspector.app.has_terminal", lambda: True)
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())  # not a terminal: auto finds no graphics
    assert main([str(path), "--graphics", "auto"]) == 0
    assert main([str(path), "--graphics", "kitty"]) == 0
    assert [app.graphics for app in started] == [("halfblock", "auto: not a terminal"), ("kitty", "forced")]
    with pytest.raises(SystemExit):
        main([str(path), "--graphics", "ascii"])

    async def go(app, expected_widget, expected_text):
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("4")
            await pilot.pause()
            assert isinstance(app.query_one("#preview-image"), expected_widget)
            assert expected_text in text_of(app, "#preview-mode")
    asyncio.run(go(started[0], HalfBlockImage, "picture: half blocks (auto: not a terminal)"))
    asyncio.run(go(started[1], GraphicsImage, "picture: Kitty graphics (forced)"))


def test_picture_mode_key_without_textual_image_stays_on_half_blocks(monkeypatch):
    monkeypatch.setattr("inspector.app.graphics_widgets", lambda: None)

    async def script(app, pilot):
        await pilot.press("4", "m")
        await pilot.pause()
        assert isinstance(app.query_one("#preview-image"), HalfBlockImage)
        assert any("need textual-image" in n.message for n in app._notifications)
    drive(small_codestream(), script)


def test_help_screen_lists_every_key():
    async def script(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, file=io.StringIO(), record=True)
        console.print(app.screen.query(Static)[1].content)
        shown = console.export_text()
        for binding in app.BINDINGS + HexView.BINDINGS:
            assert (binding.description in shown) == (binding.key != "5")   # the diff tab's key needs --compare
        for key in ("[", "]", "{", "}", "/", "?", "shift+up", "space", "enter"):
            assert key in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
    drive(small_codestream(), script)


def test_statistics_tab_draws_bars_per_segment_region_thread():
    async def script(app, pilot):
        await pilot.press("3")
        await pilot.pause()
        stats = text_of(app, "#stats-body")
        assert "bytes per segment" in stats and "bytes per region" in stats and "bytes per thread" in stats
        assert "region[127]" in stats and "SORP thread[15]" in stats and "█" in stats
    drive(big_codestream(), script, size=(120, 40), name="big.jaic")


def test_mouse_switches_tabs_and_selects_tree_rows():
    async def script(app, pilot):
        await pilot.click("#tabs Tab#--content-tab-stats-tab")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "stats-tab"
        await pilot.click("#tree", offset=(8, 3))  # third row under the root: PIH
        await pilot.pause()
        assert app.current is app.doc.root.get("PIH")
    drive(small_codestream(), script)


def test_container_file_browses_into_the_codestream():
    async def script(app, pilot):
        await answer(app, pilot, "slash", "num_chs")
        assert app.current.path.endswith("PIH/component[0]/num_chs")
        assert app.current.path != "PIH/component[0]/num_chs"  # nested below the item
        assert app.doc.kind == "container"
    drive(small_container(), script)


def test_80x24_layout_keeps_every_pane_usable():
    async def script(app, pilot):
        for selector in ("#tree", "#hex", "#details"):
            region = app.query_one(selector).region
            assert region.width >= 24 and region.height >= 5, selector
        assert app.query_one(DetailsPane).region.right <= 80
    drive(small_codestream(), script)


def test_main_reports_an_unreadable_file(tmp_path, capsys):
    assert main([str(tmp_path / "absent.jaic")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_extract_with_the_real_engine_reports_its_refusal(tmp_path):
    """A stream without our channel index cannot be channel-cut: the engine's reason is shown."""
    async def script(app, pilot):
        await pilot.press("left_square_bracket")
        await answer(app, pilot, "x", str(tmp_path / "cut.jaic"))
        assert any("extract failed" in n.message and "cut points" in n.message for n in app._notifications)
    drive(small_codestream(), script)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entropy, expected", [(False, False), (True, True)])
def test_entropy_option_adds_the_decoding_rules_to_the_findings(entropy, expected):
    pytest.importorskip("torch")
    import pathlib
    data = (pathlib.Path(__file__).resolve().parent.parent / "samples" / "rules" / "thr-004-underrun.jaic").read_bytes()
    app = InspectorApp(Document.from_bytes(data, "thr.jaic"), entropy=entropy)

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
    asyncio.run(go())
    assert ("THR-004" in {f.rule for f in app.doc.findings}) is expected


def test_compare_tab_lists_differences_and_jumps_to_them():
    from inspector.diff_pane import DiffTable
    one, two = Path("samples/valid/enc-threads-1.jaic"), Path("samples/valid/enc-threads-2.jaic")
    root = Path(__file__).resolve().parent.parent
    a, b = (root / one).read_bytes(), (root / two).read_bytes()
    app = InspectorApp(Document.from_bytes(a, "a.jaic"), validate_in_background=False,
                       compare=Document.from_bytes(b, "b.jaic"))

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            tabs = app.query_one(TabbedContent)
            assert str(tabs.get_tab("diff-tab").label) == f"Diff {len(app.differences)}"
            await pilot.press("5")
            await pilot.pause()
            table = app.query_one(DiffTable)
            assert tabs.active == "diff-tab" and table.has_focus
            rows = [d.path for d in table.differences]
            assert rows[:2] == ["PIH/substream_size", "PIH/multi_threading_z"]
            await pilot.press("down", "enter")                  # the second row: a field of both files
            await pilot.pause()
            assert app.current is app.doc.root.get("PIH/multi_threading_z")
            extra = rows.index("SORP/region[0]/thread[1]")       # only in B: jump to where it would stand
            table.move_cursor(row=extra)
            await pilot.press("enter")
            await pilot.pause()
            assert app.current is app.doc.root.get("SORP/region[0]")
            await pilot.press("question_mark")
            await pilot.pause()
            console = Console(width=120, file=io.StringIO(), record=True)
            console.print(app.screen.query(Static)[1].content)
            shown = console.export_text()
            assert "Differences tab (with --compare)" in shown and "differences" in shown
    asyncio.run(go())


def test_without_compare_the_diff_key_only_says_how():
    async def script(app, pilot):
        await pilot.press("5")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "hex-tab"
        assert any("--compare" in str(n.message) for n in app._notifications)
    drive(small_codestream(), script)
