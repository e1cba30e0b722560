"""Where untrusted text becomes Markdown or terminal output: the one policy, in one place.

Untrusted text is everything a person running the app did not write into its code: URL values
(``?session=``, ``?profile=``), candidate answers and profile names, model replies and
judgements, pack and corpus texts, error messages that quote any of these.

Policy:

- **Plain text shown in Markdown** (candidate text, URL values, names, messages, pack and corpus
  fields shown inline): :func:`plain_markdown`. Every character that could start Markdown or
  HTML is escaped, so the text is shown literally: no link, image, HTML, heading, list, table,
  emphasis, code, LaTeX or auto-linked URL can come out of it.
- **Pack and corpus text on one line** (question titles, key points, red flags in the report):
  :func:`inline_markdown`, :func:`plain_markdown` that keeps the authors' `code` spans as
  code (a code span shows its content literally, so nothing else can come out of it).
- **Markdown written by a model or a pack author** (interviewer replies, reference answers):
  :func:`model_markdown`. It is parsed and written again with only the constructs kept here:
  paragraphs, headings, emphasis, strike-through, lists, block quotes, code, tables and rules.
  Images become ``[image: alt]``; links become the text ``label (url)``, never clickable; raw
  HTML and entities become the literal text they stand for; bare URLs are not auto-linked.
- **The terminal** (stdout and stderr of the CLI): :func:`terminal`. Escape sequences (CSI,
  OSC incl. OSC 8 hyperlinks, DCS and the other string sequences, 7-bit and 8-bit forms), C1
  and C0 controls other than newline and tab, and carriage-return tricks are removed.
- All three remove control characters, and the bidirectional overrides and isolates that make
  text read differently from what it is; ordinary Unicode is kept.
- An export written to a file keeps its own format's escaping (HTML escapes, JSON encodes);
  the Markdown export goes through the functions above, and an HTML page made from Markdown
  this program wrote (the eval report) through :func:`markdown_html`.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt  # a dependency of rich, which the CLI is built on
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "inline_markdown",
    "model_markdown",
    "plain_markdown",
    "strip_controls",
    "terminal",
    "terminal_markup",
]

# Escape sequences, 7-bit (ESC ...) and 8-bit (C1 introducer) forms.
_STRING_SEQUENCE = (  # OSC, DCS, SOS, PM, APC up to their terminator (ST, or BEL for OSC)
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
)
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
_OTHER_ESCAPE = r"\x1b[\x20-\x2f]*[\x30-\x7e]"  # ESC c, ESC ( B, ESC 7 ...
_SEQUENCES = re.compile(f"{_STRING_SEQUENCE}|{_CSI}|{_OTHER_ESCAPE}")
# What is left: C0 but newline and tab, DEL, C1, bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Markdown: characters escaped wherever they are; the others only where they mean something.
_ALWAYS = frozenset("\\`*_[]<>#|~$&@")
_LINE_START = re.compile(r"^(?:[-+=]|\d{1,9}[.)](?=\s|$))")  # "1. " starts a list, "1.1.1" does not
# Streamlit's renderer links bare addresses (GFM autolink literals) even when they are
# backslash-escaped, so an invisible word joiner breaks the pattern: after "www", between ":" and
# "//", and after "@" (the text reads the same; seen linked in Chromium without it).
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\\?\.)|(?<=:)(?=//)|(?<=@)")
WORD_JOINER = "\u2060"


def strip_controls(text: str) -> str:
    """Remove escape sequences and control characters; keep newlines and tabs. A carriage
    return that does not end a line becomes a newline (it could hide what came before it)."""
    text = _SEQUENCES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def terminal(text: str) -> str:
    """Text safe to write to a terminal: no escape sequence or control but newline and tab."""
    return strip_controls(text)


def terminal_markup(text: object) -> str:
    """:func:`terminal` text for a string rich reads as markup (``[link=...]`` stays text)."""
    from rich.markup import escape

    return escape(terminal(str(text)))


def _escape(text: str) -> str:
    """Backslash-escape one line of text so that Markdown shows it literally."""
    out = "".join("\\" + ch if ch in _ALWAYS else ch for ch in text)
    out = _AUTOLINK.sub(WORD_JOINER, out)
    start = _LINE_START.match(out)
    if start:
        end = start.end()
        out = out[: end - 1] + "\\" + out[end - 1 :]
    return out


def plain_markdown(text: str, *, inline: bool = False) -> str:
    """Text shown literally inside Markdown. Line breaks are kept (a blank line starts a new
    paragraph), and a line's indentation shows as no-break spaces (as spaces, Markdown would
    read it as a code block or drop it); ``inline`` joins everything into one line, for
    headings, table cells, list items and emphasis."""
    text = strip_controls(text)
    if inline:
        return _escape(" ".join(text.split()))
    return "\n".join(_indented(line) for line in text.split("\n"))


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def inline_markdown(text: str) -> str:
    """Pack or corpus text on one line, shown literally except for its `code` spans, which
    stay code (``count += 1`` reads as code, not with its backticks escaped)."""
    parts = _CODE_SPAN.split(" ".join(strip_controls(text).split()))
    return "".join(
        part if index % 2 and part.strip("`").strip() else _escape(part)
        for index, part in enumerate(parts)
    )


def _indented(line: str) -> str:
    body = line.lstrip(" \t")
    indent = len(line[: len(line) - len(body)].replace("\t", "    "))
    return "\u00a0" * indent + _escape(body.rstrip()) if body.strip() else ""


@cache
def _parser() -> MarkdownIt:
    # No raw HTML (it stays text), no linkify, no typographer: CommonMark with GFM tables.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def markdown_html(text: str) -> str:
    """HTML of Markdown this program wrote, with any untrusted text in it already passed
    through :func:`plain_markdown`: raw HTML stays text, and links keep markdown-it's check
    of their address (no ``javascript:``)."""
    return str(_parser().render(text))


def model_markdown(text: str) -> str:
    """Markdown from a model or a pack author, written again with only safe constructs
    (see the module's policy): formatting is kept, images, links and HTML are not."""
    tree = SyntaxTreeNode(_parser().parse(strip_controls(text)))
    return "\n\n".join(_blocks(tree.children)).strip("\n")


def _blocks(nodes: list[SyntaxTreeNode]) -> list[str]:
    out: list[str] = []
    previous, alternate = "", False
    for node in nodes:
        # Two lists in a row keep apart only if their markers differ.
        alternate = not alternate if node.type == previous else False
        previous = node.type
        block = _block(node, alternate)
        if block:
            out.append(block)
    return out


def _prefix(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    head = [first + lines[0]]
    return "\n".join(head + [(rest + line) if line else rest.rstrip() for line in lines[1:]])


def _block(node: SyntaxTreeNode, alternate: bool = False) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node)
    if kind == "heading":
        return "#" * int(node.tag[1:]) + " " + _inline(node)
    if kind in ("fence", "code_block"):
        return _fence(node.content, node.info if kind == "fence" else "")
    if kind == "hr":
        return "***"  # never read as a setext underline
    if kind == "blockquote":
        inner = "\n\n".join(_blocks(node.children))
        return _prefix(inner, "> ", "> ")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, alternate)
    if kind == "table":
        return _table(node)
    if node.children:
        return "\n\n".join(_blocks(node.children))
    return plain_markdown(node.content)


def _list(node: SyntaxTreeNode, alternate: bool) -> str:
    ordered = node.type == "ordered_list"
    number = int(str(node.attrs.get("start", 1))) if ordered else 0
    tight = any(p.hidden for item in node.children for p in item.children)
    items = []
    for item in node.children:
        marker = f"{number}{')' if alternate else '.'} " if ordered else "* " if alternate else "- "
        number += 1
        body = "\n\n".join(_blocks(item.children)) if not tight else _tight(item)
        items.append(_prefix(body, marker, " " * len(marker)))
    return ("\n" if tight else "\n\n").join(items)


def _tight(item: SyntaxTreeNode) -> str:
    return "\n".join(_blocks(item.children))


def _fence(content: str, info: str) -> str:
    longest = max((len(run) for run in re.findall("`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    words = info.split()
    language = re.sub(r"[^\w+#.-]", "", words[0]) if words else ""
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{fence}{language}\n{body}{fence}"


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    aligns: list[str] = []
    for section in node.children:
        for tr in section.children:
            rows.append([_inline(cell, in_table=True) for cell in tr.children])
            if not aligns:
                aligns = [str(cell.attrs.get("style", "")) for cell in tr.children]
    if not rows:
        return ""
    rule = {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}
    lines = ["| " + " | ".join(rows[0]) + " |"]
    lines.append("| " + " | ".join(rule.get(a, "---") for a in aligns) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _inline(node: SyntaxTreeNode, in_table: bool = False) -> str:
    """The inline content of a block (its ``inline`` child) or of an inline container."""
    children = node.children
    if len(children) == 1 and children[0].type == "inline":
        children = children[0].children
    out: list[str] = []
    text: list[str] = []  # a run of text nodes is escaped as one (URLs can span them)
    for child in [*children, None]:
        if child is not None and child.type in ("text", "text_special"):
            text.append(child.content)
            continue
        if text:
            out.append(_escape(" ".join("".join(text).split("\n"))))
            text = []
        if child is not None:
            out.append(_span(child, in_table))
    return "".join(out)


def _span(node: SyntaxTreeNode, in_table: bool) -> str:
    kind = node.type
    if kind == "softbreak":
        return "\n"
    if kind == "hardbreak":
        return "\\\n" if not in_table else " "
    if kind == "code_inline":
        return _code(node.content, in_table)
    if kind == "em":
        return "*" + _inline(node, in_table) + "*"
    if kind == "strong":
        return "**" + _inline(node, in_table) + "**"
    if kind == "s":
        return "~~" + _inline(node, in_table) + "~~"
    if kind == "image":
        alt = " ".join(_plain(node).split())
        return _escape(f"[image: {alt}]" if alt else "[image]")
    if kind == "link":
        label = _inline(node, in_table)
        href = str(node.attrs.get("href", ""))
        if _plain(node) in (href, href.removeprefix("mailto:")):
            return _escape(href.removeprefix("mailto:"))
        return f"{label} ({_escape(href)})"
    if node.children:
        return _inline(node, in_table)
    return _escape(" ".join(node.content.split()))


def _plain(node: SyntaxTreeNode) -> str:
    """The text of an inline node and its children, without any formatting."""
    if not node.children:
        return node.content if node.type != "softbreak" else " "
    return "".join(_plain(child) for child in node.children)


def _code(content: str, in_table: bool) -> str:
    if not content:
        return ""
    longest = max((len(run) for run in re.findall("`+", content)), default=0)
    ticks = "`" * (longest + 1)
    if in_table:
        content = content.replace("|", "\\|")
    pad = " " if content[0] in " `" or content[-1] in " `" else ""
    return f"{ticks}{pad}{content}{pad}{ticks}"
