"""Readable text of an HTML message (help desks store e-mails and replies as HTML): block tags become
line breaks, table cells stay apart, link targets are kept; a reply can drop its signature and the
message it quotes."""
from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
# Markup an export's text field holds when it is HTML: a tag of the kinds e-mail bodies use, or an entity.
_LOOKS_HTML = re.compile(r"</?(?:p|div|br|span|a|b|i|u|strong|em|li|ul|ol|table|tr|td|th|blockquote|font|h[1-6]|"
                         r"html|body|img)\b[^>]*>|&(?:nbsp|amp|lt|gt|quot|[a-z]uml|szlig|#\d+);", re.I)

# Where an e-mail reply's quoted history starts ("Am 02.11.2026 um 08:55 schrieb …:", "On …, … wrote:").
_QUOTE_HEADER = re.compile(r"(?im)^[ \t>]*(?:am\b.{4,120}?\bschrieb\b.{0,120}?:|on\b.{4,120}?\bwrote:|-{3,}[ ]*"
                           r"(?:original message|ursprüngliche nachricht|weitergeleitete nachricht)[ ]*-{3,})[ \t]*$")


class _TextOf(HTMLParser):
    def __init__(self, reply: bool = False):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.reply = reply
        self.skipping: list[list] = []   # [tag, depth] of the elements whose text is left out

    def _skips(self, tag: str, attrs: dict) -> bool:
        if tag in ("script", "style"):
            return True
        # a reply's signature block and the quoted message it answers
        return self.reply and (tag == "blockquote" or "data-signature" in attrs)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.skipping:
            if tag == self.skipping[-1][0]:
                self.skipping[-1][1] += 1
            return
        if self._skips(tag, attrs):
            self.skipping.append([tag, 1])
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")   # table cells side by side: "Digital-Abo 9,90 €"
        if tag == "a":   # keep link targets: an article URL in a reply is a link to the article
            href = attrs.get("href")
            if href and href.startswith("http"):
                self.parts.append(f" {href} ")

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1][0]:
                self.skipping[-1][1] -= 1
                if self.skipping[-1][1] == 0:
                    self.skipping.pop()
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str, reply: bool = False) -> str:
    """Readable text of an HTML body: block tags become line breaks, link targets are kept. ``reply``:
    an e-mail message, whose signature block and quoted history are left out."""
    parser = _TextOf(reply)
    parser.feed(html or "")
    parser.close()
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return reply_text(text) if reply else text


def reply_text(text: str) -> str:
    """A plain-text e-mail message without the quoted history below its "… schrieb:" / "… wrote:" line."""
    quoted = _QUOTE_HEADER.search(text or "")
    return text[:quoted.start()].rstrip() if quoted and quoted.start() > 0 else text


def looks_like_html(text: str | None) -> bool:
    """Whether a text field holds HTML markup (an export's e-mail body) rather than plain text."""
    return bool(text) and _LOOKS_HTML.search(text) is not None


# The HTML a CMS leaves in a Markdown article ("im <b>Kundenkonto</b>"): known tag names only, so that
# "Geben Sie <Ihre Kundennummer> ein" stays; scripts and styles go with their content.
_CODE = re.compile(r"(?is)<(script|style)\b[^>]*>.*?</\1\s*>")
_LINE_BREAK = re.compile(r"(?i)<br\s*/?>")
_LINK = re.compile(r"""(?is)<a\b[^<>]*?href=["']?(https?://[^"'\s>]+|/[^"'\s>]*)["']?[^<>]*>(.*?)</a\s*>""")
_TAG = re.compile(r"(?i)</?(?:a|b|i|u|em|strong|span|div|p|font|small|big|sup|sub|center|mark|abbr|img|hr|"
                  r"h[1-6]|ul|ol|li|table|thead|tbody|tr|td|th)\b[^<>]*>")


def markdown_without_html(markdown: str) -> str:
    """A Markdown article without the HTML tags in it (their text stays): customers saw "&lt;b&gt;" on
    the article page and in the widget, since deflect renders no raw HTML."""
    if not markdown:
        return markdown
    text = _CODE.sub("", markdown)
    text = _LINE_BREAK.sub("  \n", text)
    text = _LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})", text)   # a link stays a link
    return _TAG.sub("", text)
