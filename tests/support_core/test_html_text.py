"""HTML policies and descriptions become readable text."""

from __future__ import annotations

from support_core.html_text import html_to_text


def test_paragraphs_bullets_entities_and_links_survive() -> None:
    html = (
        "<h2>Returns &amp; refunds</h2><p>You have <b>30&nbsp;days</b>. See <a href='https://s.example/r'>our page</a>."
        "</p><ul><li>Unworn items</li><li>Refund in &euro;</li></ul>"
    )
    assert html_to_text(html) == (
        "Returns & refunds\n\nYou have 30 days. See our page (https://s.example/r).\n\n- Unworn items\n- Refund in €"
    )


def test_scripts_styles_and_unsafe_links_are_dropped() -> None:
    html = "<style>p{}</style><p>Hi<script>alert(1)</script> <a href='javascript:alert(1)'>click</a></p>"
    assert html_to_text(html) == "Hi click"


def test_mailto_links_show_the_address() -> None:
    assert html_to_text('<p>Write to <a href="mailto:help@s.example">us</a></p>') == "Write to us (help@s.example)"


def test_broken_html_does_not_raise() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>text") == "unclosed bold text"
