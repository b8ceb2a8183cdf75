"""A document's HTML as an A4 PDF: WeasyPrint with a stylesheet naming the Noto CJK fonts, so the
Chinese text is set as text (searchable, copyable) and not as boxes, with the case's ids and the
Beijing time in the page margins and a page number on every page.

A pure function of the HTML and the margin texts; the API and the command line both call it. When
WeasyPrint or the font is missing the caller gets `RendererMissing` naming what to install, so a
server without them still serves JSON, Markdown and HTML."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import EngineError

TZ = ZoneInfo("Asia/Shanghai")
# The families fonts-noto-cjk installs; Sans for the text, Serif only as a second choice.
FONT_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")

STYLE = """
@page {
  size: A4; margin: 22mm 18mm 20mm 18mm;
  @top-left { content: "%(top_left)s"; font-size: 8pt; color: #555; }
  @top-right { content: "%(top_right)s"; font-size: 8pt; color: #555; }
  @bottom-left { content: "%(bottom_left)s"; font-size: 8pt; color: #555; }
  @bottom-right { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                  font-size: 8pt; color: #555; }
}
html { font-family: %(fonts)s, sans-serif; font-size: 10.5pt; line-height: 1.55; color: #111; }
h1 { font-size: 17pt; margin: 0 0 6pt; padding-bottom: 4pt; border-bottom: 1.5pt solid #333; }
h2 { font-size: 12pt; margin: 12pt 0 4pt; padding-left: 5pt; border-left: 3pt solid #555; }
p { margin: 3pt 0; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%%; margin: 6pt 0; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 0.6pt solid #888; padding: 3pt 6pt; text-align: left; vertical-align: top; }
th { background: #eee; width: 30%%; font-weight: bold; }
.written { display: none; }  /* the page margin carries the time the document was written */
.signature { margin-top: 14pt; border: 1pt solid #333; padding: 6pt 8pt; page-break-inside: avoid; }
"""


class RendererMissing(EngineError):
    """The server lacks WeasyPrint or the CJK font: nothing the caller sent is wrong."""

    code = "renderer_missing"
    http_status = 503


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


@functools.lru_cache(maxsize=8)
def _font_installed(family: str) -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, f":family={family}", "family"], capture_output=True, text=True,
                           timeout=30, check=False)
    return bool(found.stdout.strip())


def missing() -> list[str]:
    """What the PDF rendering lacks on this machine, in words an operator can act on."""
    lacking = []
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: the package is there but Pango is not
        lacking.append(f"WeasyPrint ({exc.__class__.__name__}: {exc}; pip install weasyprint, "
                       "apt-get install libpango-1.0-0 libpangoft2-1.0-0)")
    if not any(_font_installed(f) for f in FONT_FAMILIES):
        lacking.append(f"the font {' or '.join(FONT_FAMILIES)} (apt-get install fonts-noto-cjk fontconfig)")
    return lacking


def margins(document: Mapping[str, Any]) -> dict[str, str]:
    """The texts around every page: the document's and the case's ids, when it was written (Beijing)."""
    created = document["created_at"]
    moment = created if isinstance(created, datetime) else datetime.fromisoformat(str(created))
    case = f"案件 {document['instance_id']}"
    if document.get("business_key"):
        case += f"（业务编号 {document['business_key']}）"
    return {"top_left": f"维保服务文档 {document['id']}", "top_right": case,
            "bottom_left": f"生成时间 {moment.astimezone(TZ):%Y-%m-%d %H:%M}（北京时间）"}


def render(html: str, margin_texts: Mapping[str, str]) -> bytes:
    """The PDF of `html`; `margin_texts` fills top_left, top_right and bottom_left."""
    lacking = missing()
    if lacking:
        raise RendererMissing("PDF rendering is not available on this server: missing " + "; ".join(lacking),
                              details={"missing": lacking})
    import weasyprint

    texts = {k: _css_string(margin_texts.get(k, "")) for k in ("top_left", "top_right", "bottom_left")}
    fonts = ", ".join(f'"{f}"' for f in FONT_FAMILIES)
    css = weasyprint.CSS(string=STYLE % {**texts, "fonts": fonts})
    # No base URL and no fetching: the stored markup may not reach the network or the disk.
    document = weasyprint.HTML(string=html, url_fetcher=_refuse)
    return bytes(document.write_pdf(stylesheets=[css]))


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"documents are rendered without fetching {url}")
