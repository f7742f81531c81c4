"""The page shell of the report: inline CSS (no fonts, images or scripts from anywhere) and the
small helpers that write escaped HTML."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#dfe3ea;--bg:#f5f6f8;--card:#fff;--accent:#0b5cad;
--error:#b3261e;--error-bg:#fde8e7;--warning:#8a5a00;--warning-bg:#fff3d6;--info:#1f5f8b;--info-bg:#e3f0fa;
--ok:#1b6e3a;--ok-bg:#e2f4e8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",
Roboto,"DejaVu Sans",sans-serif}
header.top{background:#1d2a3a;color:#fff;padding:18px 24px}
header.top h1{margin:0 0 4px;font-size:22px;font-weight:600;overflow-wrap:anywhere}
header.top .sub{color:#c8d2df;font-size:13px;overflow-wrap:anywhere}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:6px 24px;
display:flex;flex-wrap:wrap;gap:4px 16px;font-size:14px}
nav a{color:var(--accent);text-decoration:none;padding:4px 0}
main{max-width:1320px;margin:0 auto;padding:16px 24px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:19px;margin:0 0 12px}
h3{font-size:16px;margin:18px 0 8px}
p{margin:6px 0 10px}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.stat{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:#fafbfc}
.stat b{display:block;font-size:21px;font-weight:600}
.stat span{color:var(--muted);font-size:13px}
.stat.error{background:var(--error-bg);border-color:#f3b9b5}.stat.error b{color:var(--error)}
.stat.warning{background:var(--warning-bg);border-color:#f1d79a}.stat.warning b{color:var(--warning)}
.stat.info{background:var(--info-bg);border-color:#b9d7ee}.stat.info b{color:var(--info)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:8px 0}
table{border-collapse:collapse;font-size:14px;min-width:100%}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f2f5;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
pre{background:#f3f4f7;border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto;margin:6px 0}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px}
.plots.bars{grid-template-columns:minmax(0,820px)}
svg.plot{width:100%;height:auto;display:block;background:#fff;border:1px solid var(--line);border-radius:6px}
svg .ptitle{font-size:15px;font-weight:600;fill:#1d2330}
svg .xlab,svg .ylab,svg .leg,svg .bval,svg .blab{font-size:13px;fill:#5b6475}
svg .xlab{text-anchor:middle}svg .ylab,svg .blab{text-anchor:end}
svg .grid{stroke:#e6e9ee;stroke-width:1}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.error{background:var(--error-bg);color:var(--error)}
.badge.warning{background:var(--warning-bg);color:var(--warning)}
.badge.info{background:var(--info-bg);color:var(--info)}
.badge.kind{background:#eceff3;color:#333}
.note{border-left:4px solid var(--warning);background:var(--warning-bg);padding:8px 12px;border-radius:4px;margin:8px 0}
.note.ok{border-color:var(--ok);background:var(--ok-bg)}
.findings{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:12px}
.finding{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff;min-width:0}
.finding.error{border-left:5px solid var(--error)}.finding.warning{border-left:5px solid #d39b00}
.finding.info{border-left:5px solid #4a90c2}
.finding .head{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:6px}
.finding .msg{font-size:13px;color:#333;overflow-wrap:anywhere;margin:6px 0 0}
.pair{display:flex;gap:10px;flex-wrap:wrap}
figure{margin:0;flex:1 1 140px;min-width:0}
figure .img{height:128px;display:flex;align-items:center;justify-content:center;background-color:#eef0f3;
border-radius:4px;overflow:hidden}
figure .pic{background-color:#eef0f3;background-position:center;background-size:contain;background-repeat:no-repeat}
figure .pic.tiny{background-size:auto 96px;image-rendering:pixelated}
figure figcaption{font-size:12px;color:var(--muted);overflow-wrap:anywhere;margin-top:3px}
figure .none{font-size:12px;color:var(--muted);padding:8px;text-align:center}
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}
footer{color:var(--muted);font-size:12px;text-align:center;padding:12px}
@media (max-width:640px){
 body{font-size:14px}
 header.top{padding:14px 14px}header.top h1{font-size:18px}
 nav{padding:6px 14px;position:static}
 main{padding:8px 10px 32px}
 section{padding:12px 12px;margin:10px 0}
 .findings{grid-template-columns:1fr}
 .plots{grid-template-columns:1fr}
 .cards{grid-template-columns:repeat(2,1fr)}
 th,td{padding:4px 6px}
}
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()) -> str:
    """A scrollable table (no header row when `headers` is None); cells are escaped unless Raw."""
    num = set(numeric)
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
                   for i, h in enumerate(headers or ()))
    body = []
    for row in rows:
        cells = "".join(
            (f'<td class="num">{cell_html(c)}</td>' if i in num else f"<td>{cell_html(c)}</td>")
            for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if headers else ""
    return f'<div class="scroll"><table>{thead}<tbody>{"".join(body)}</tbody></table></div>'


class Raw(str):
    """HTML that is already escaped (badges, code)."""


def cell_html(value: object) -> str:
    return value if isinstance(value, Raw) else esc(value)


def badge(text: str, cls: str) -> Raw:
    return Raw(f'<span class="badge {esc(cls)}">{esc(text)}</span>')


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def document(title: str, subtitle: str, nav: Sequence[tuple[str, str]], body: str, footer: str,
             extra_css: str = "") -> str:
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}{extra_css}</style></head><body>"
            f'<header class="top"><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
            f"<nav>{links}</nav><main>{body}</main><footer>{esc(footer)}</footer></body></html>\n")
