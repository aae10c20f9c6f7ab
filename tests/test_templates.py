"""Template hygiene: Django's {# #} comments end on the line they start on, so a comment that
spans lines is printed on the page. Use {% comment %} for those."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_no_template_comment_spans_lines():
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        for line in path.read_text().splitlines()
        if re.search(r"\{#(?!.*#\})", line)
    ]
    assert offenders == []


def test_no_template_has_inline_script_or_style():
    """The Content-Security-Policy refuses inline code and styles: scripts come from files,
    styles from the stylesheet (a JSON data block is not code and may stay)."""
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\""
    )
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []
