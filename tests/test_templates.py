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
