"""detectable_content:* and detectable_format:* checks on hand examples."""

from __future__ import annotations

from collections.abc import Callable

Passes = Callable[..., bool]


def test_number_placeholders(passes: Passes) -> None:
    text = "Dear [name], we ship to [address] on [date]."
    assert passes("detectable_content:number_placeholders", text, num_placeholders=3)
    assert not passes("detectable_content:number_placeholders", text, num_placeholders=4)


def test_postscript_markers(passes: Passes) -> None:
    assert passes("detectable_content:postscript", "Bye.\n\np.s. see you", postscript_marker="P.S.")
    assert passes(
        "detectable_content:postscript", "Bye.\nP. P. S. later", postscript_marker="P.P.S"
    )
    assert not passes("detectable_content:postscript", "Bye. PS later", postscript_marker="P.S.")
    assert passes("detectable_content:postscript", "Note: fine", postscript_marker="Note:")


def test_number_bullet_lists_is_exact(passes: Passes) -> None:
    text = "Items:\n* one\n* two\n- three\n**bold** line"
    assert passes("detectable_format:number_bullet_lists", text, num_bullets=3)
    assert not passes("detectable_format:number_bullet_lists", text, num_bullets=2)


def test_constrained_response(passes: Passes) -> None:
    assert passes("detectable_format:constrained_response", "Well. My answer is maybe.")
    assert not passes("detectable_format:constrained_response", "My answer is perhaps.")


def test_highlighted_sections_italic_and_bold(passes: Passes) -> None:
    assert passes("detectable_format:number_highlighted_sections", "*a* and *b*", num_highlights=2)
    assert not passes(
        "detectable_format:number_highlighted_sections", "*a* and * *", num_highlights=2
    )
    assert passes("detectable_format:number_highlighted_sections", "**b** *i*", num_highlights=2)
    assert not passes("detectable_format:number_highlighted_sections", "**bold**", num_highlights=2)


def test_multiple_sections(passes: Passes) -> None:
    text = "SECTION 1\nintro\nSECTION 2\nbody"
    assert passes(
        "detectable_format:multiple_sections", text, section_spliter="SECTION", num_sections=2
    )
    assert not passes(
        "detectable_format:multiple_sections", text, section_spliter="SECTION", num_sections=3
    )
    assert not passes(
        "detectable_format:multiple_sections", text, section_spliter="Section", num_sections=1
    )


def test_json_format_accepts_fenced_json(passes: Passes) -> None:
    assert passes("detectable_format:json_format", '```json\n{"a": [1, 2]}\n```')
    assert passes("detectable_format:json_format", "  [1, 2, 3]  ")
    assert not passes("detectable_format:json_format", 'Here it is: {"a": 1}')


def test_title(passes: Passes) -> None:
    assert passes("detectable_format:title", "<<Poem of Joy>>\nverse")
    assert not passes("detectable_format:title", "<<   >> verse")
    assert not passes("detectable_format:title", "<<split\ntitle>>")
