import { createHash } from 'node:crypto';

/*
 * The report's only style sheet, inline. The page's Content-Security-Policy allows exactly this
 * sheet (by its SHA-256) and nothing else: no script, no style attribute, no image, font or request.
 */
export const REPORT_CSS = `
:root{--ink:#1b1f24;--muted:#57606a;--line:#d8dee4;--soft:#f6f8fa;--keep:#1f6feb;--revoke:#cf222e;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif;font-variant-numeric:tabular-nums}
main{max-width:1120px;margin:0 auto;padding:32px 40px 48px}
header.top{display:flex;justify-content:space-between;align-items:flex-end;gap:24px;border-bottom:1px solid var(--line);padding-bottom:16px;margin-bottom:20px}
.eyebrow{margin:0;color:var(--muted);font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase}
h1{margin:4px 0 0;font-size:26px;line-height:1.2;font-weight:650;letter-spacing:-.01em}
.meta{margin:0;color:var(--muted);font-size:13px;text-align:right}
h2{margin:36px 0 6px;font-size:18px;font-weight:650;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{margin:20px 0 6px;font-size:15px;font-weight:650}
p.lead{margin:4px 0 12px;color:var(--muted)}
.banner{display:flex;gap:14px;align-items:center;border:1px solid;border-left-width:6px;border-radius:6px;padding:12px 16px;margin:0 0 20px}
.banner strong{font-size:16px}
.banner p{margin:0}
.banner.ok{border-color:var(--ok);background:#dafbe1}
.banner.warn{border-color:var(--warn);background:#fff8c5}
.banner.bad{border-color:var(--bad);background:#ffebe9}
.banner.info{border-color:var(--info);background:#ddf4ff}
.figures{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:0 0 8px;padding:0}
.figures div{border:1px solid var(--line);border-radius:6px;padding:10px 14px;background:var(--soft)}
.figures dt{color:var(--muted);font-size:12px;font-weight:600}
.figures dd{margin:2px 0 0;font-size:22px;font-weight:650}
.figures div.attention{border-color:#e3c95b;background:#fffbe0}
.figures div.attention dd{color:var(--warn)}
.figures dd small{font-size:12px;font-weight:500;color:var(--muted);margin-left:2px}
dl.facts{display:grid;grid-template-columns:150px 1fr;gap:4px 16px;margin:8px 0}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:0 32px}
.columns>div{min-width:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:8px 0 4px;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
thead th{background:var(--soft);font-size:12px;font-weight:650;color:var(--muted);border-bottom:1px solid #c4ccd4;white-space:nowrap}
tbody th{font-weight:600}
th.grant{width:30%}
th.wide{width:30%}
td.num,th.num{text-align:right;white-space:nowrap}
td.time{white-space:nowrap;color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
.more{color:var(--muted);font-size:13px;margin:4px 0 0}
.pill{display:inline-block;border-radius:999px;padding:0 8px;font-size:12px;font-weight:600;border:1px solid;white-space:nowrap}
.pill.ok{color:var(--ok);border-color:#8ddb8c;background:#eefbf0}
.pill.warn{color:var(--warn);border-color:#e3c95b;background:#fffbe0}
.pill.bad{color:var(--bad);border-color:#f3a7a9;background:#fff1f0}
.pill.info{color:var(--info);border-color:#9cc9f5;background:#eef7ff}
.pill.none{color:var(--muted);border-color:var(--line);background:var(--soft)}
.empty{color:var(--muted);font-style:italic}
.chartbox{border:1px solid var(--line);border-radius:6px;padding:12px 12px 6px}
svg.chart{display:block;width:100%;height:auto}
svg.chart .grid line{stroke:#eaeef2;stroke-width:1}
svg.chart .baseline{stroke:#8c959f;stroke-width:1}
svg.chart text{fill:var(--muted);font-size:12px;font-family:inherit}
svg.chart polyline{fill:none;stroke-width:2.5;stroke-linejoin:round}
svg.chart .keep polyline{stroke:var(--keep)}
svg.chart .revoke polyline{stroke:var(--revoke)}
svg.chart circle.keep{fill:var(--keep)}
svg.chart circle.revoke{fill:var(--revoke)}
.legend{display:flex;gap:18px;margin:6px 0 0;padding:0;list-style:none;color:var(--muted);font-size:13px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.swatch.keep{background:var(--keep)}
.swatch.revoke{background:var(--revoke)}
ul.items{margin:6px 0;padding-left:20px}
ul.items li{margin:2px 0}
footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media (max-width:800px){main{padding:20px}.figures{grid-template-columns:repeat(2,1fr)}dl.facts{grid-template-columns:1fr}.columns{grid-template-columns:1fr}header.top{display:block}.meta{text-align:left}}
@page{size:A4;margin:14mm 12mm}
@media print{body{font-size:10pt}main{max-width:none;padding:0}h2{break-after:avoid}tr,.figures div,.banner,.chartbox{break-inside:avoid}thead{display:table-header-group}.banner,.pill,.figures div,thead th,.swatch,svg.chart{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`.trim();

export const REPORT_CSS_HASH = `sha256-${createHash('sha256').update(REPORT_CSS).digest('base64')}`;

/** Forbids everything but the inline sheet above: a report opened in a browser fetches and runs nothing. */
export const REPORT_CSP = `default-src 'none'; style-src '${REPORT_CSS_HASH}'; img-src 'none'; font-src 'none'; connect-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'`;
