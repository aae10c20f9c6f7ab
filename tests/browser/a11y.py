"""Basic accessibility checks every page of the browser journeys must pass.

Not a full audit: labelled form fields, one h1, keyboard-reachable actions and images with
alternative text — the mistakes that are easy to make and easy to catch.
"""

_PROBLEMS_JS = """
() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'reset'].includes(type) || !visible(el)) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  for (const el of document.querySelectorAll('a[href], button, summary, input, select, textarea')) {
    if (visible(el) && el.tabIndex < 0) {
      problems.push(`not keyboard-reachable: ${el.outerHTML.slice(0, 80)}`);
    }
  }
  for (const el of document.querySelectorAll('[onclick]')) {
    if (!['A', 'BUTTON', 'INPUT', 'SUMMARY'].includes(el.tagName)) {
      problems.push(`click handler on ${el.tagName}`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`image without alt: ${img.src}`);
  }
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  if (!document.title) problems.push('no <title>');
  return problems;
}
"""


def accessibility_problems(page) -> list[str]:
    return page.evaluate(_PROBLEMS_JS)


def assert_accessible(page) -> None:
    problems = accessibility_problems(page)
    assert problems == [], f"{page.url}: {problems}"
