import { createHash } from 'node:crypto';

// The dashboard page: one self-contained HTML document (no CDN, no external file), its script and
// style inline and allowed by hash in the Content-Security-Policy, so nothing else can run in it.
// Everything the server sends is rendered with textContent, never as HTML. The empty data: icon keeps
// browsers from asking for /favicon.ico.

const STYLE = `
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2330;--mute:#6b7385;--line:#e1e4ea;--ok:#1f9d55;--bad:#d64545;--warn:#d98e04;--iso:#7b3fbf;--off:#8a8f99;--info:#2b6cb0}
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:12px;padding:10px 18px;background:#1d2330;color:#fff}
header h1{font-size:16px;margin:0;font-weight:600}
header .meta{color:#b7bdca;font-size:12px}
#status{margin-left:auto;font-size:12px;padding:2px 8px;border-radius:10px;background:#555}
#status[data-state=live]{background:var(--ok)}
#status[data-state=disconnected]{background:var(--bad)}
main{padding:8px 18px 24px}
h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--mute);margin:16px 0 8px}
section[hidden]{display:none}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:4px solid var(--line)}
.card[data-state=closed]{border-top-color:var(--ok)}
.card[data-state=open]{border-top-color:var(--bad)}
.card[data-state=half-open]{border-top-color:var(--warn)}
.card[data-state=isolated]{border-top-color:var(--iso)}
.card[data-state=disabled]{border-top-color:var(--off)}
.card[data-state=metrics-only]{border-top-color:var(--info)}
.top{display:flex;align-items:center;gap:8px}
.name{font-weight:600;font-size:14px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.kind{color:var(--mute);font-size:11px}
.badge{margin-left:auto;font-size:11px;font-weight:700;text-transform:uppercase;padding:2px 8px;border-radius:10px;color:#fff;background:var(--off)}
.badge[data-state=closed]{background:var(--ok)}
.badge[data-state=open]{background:var(--bad)}
.badge[data-state=half-open]{background:var(--warn)}
.badge[data-state=isolated]{background:var(--iso)}
.badge[data-state=metrics-only]{background:var(--info)}
.rates{display:flex;align-items:flex-end;gap:14px;margin:8px 0 4px}
.big{font-size:20px;font-weight:600;white-space:nowrap}
.big small{font-size:11px;color:var(--mute);font-weight:400;margin-left:2px}
.err[data-level=bad]{color:var(--bad)}
.line[data-level=bad]{color:var(--bad);font-weight:600}
svg.spark{margin-left:auto;width:120px;height:30px;border-bottom:1px solid var(--line)}
svg.spark polyline{fill:none;stroke:var(--info);stroke-width:1.5}
.counts{display:flex;flex-wrap:wrap;gap:4px 12px;color:var(--mute);font-size:12px}
.counts b{color:var(--ink);font-weight:600}
.lat{display:grid;grid-template-columns:repeat(5,1fr);border-top:1px solid var(--line);margin-top:6px;padding-top:6px;text-align:right}
.lat span{color:var(--mute);font-size:11px}
.lat b{font-weight:600;font-size:12px}
.line{color:var(--mute);font-size:12px;margin-top:4px}
.line b{color:var(--ink)}
.bar{height:8px;background:var(--line);border-radius:4px;overflow:hidden;margin:3px 0 6px}
.bar i{display:block;height:100%;background:var(--ok);width:0}
.bar i[data-level=warn]{background:var(--warn)}
.bar i[data-level=bad]{background:var(--bad)}
.empty{color:var(--mute);padding:24px 0}
`;

const SCRIPT = `
(function () {
  'use strict';
  var HISTORY = 60;
  var cards = new Map();
  var history = new Map();
  var status = document.getElementById('status');
  var sections = {
    'circuitBreaker': document.getElementById('breakers'),
    bulkhead: document.getElementById('bulkheads'),
    slo: document.getElementById('slos'),
    other: document.getElementById('others'),
  };

  function el(tag, cls, parent, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function field(parent, label, name) {
    var span = el('span', '', parent, label + ' ');
    var b = el('b', '', span, '-');
    b.setAttribute('data-field', name);
    return b;
  }
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '-';
    return v.toFixed(digits);
  }
  function count(v) {
    if (v === null || v === undefined || !isFinite(v)) return v === Infinity ? 'unbounded' : '-';
    return v >= 10000 ? (v / 1000).toFixed(1) + 'k' : String(Math.round(v));
  }
  function ms(v) {
    if (v === null || v === undefined || !isFinite(v)) return '-';
    if (v < 1) return v.toFixed(2) + ' ms';
    if (v < 10) return v.toFixed(1) + ' ms';
    if (v < 1000) return Math.round(v) + ' ms';
    return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
  }
  function pct(v) {
    return v === null || v === undefined || !isFinite(v) ? '-' : v.toFixed(1) + ' %';
  }
  function set(card, name, text) {
    var e = card.fields[name];
    if (e && e.textContent !== text) e.textContent = text;
  }

  function build(p) {
    var kind = p.kind === 'circuitBreaker' || p.kind === 'bulkhead' || p.kind === 'slo' ? p.kind : 'other';
    var root = el('div', 'card');
    root.setAttribute('data-policy', p.name);
    root.setAttribute('data-kind', p.kind);
    var top = el('div', 'top', root);
    el('span', 'name', top, p.name).title = p.name;
    el('span', 'kind', top, p.kind);
    var card = { root: root, fields: {}, kind: kind };
    if (kind === 'circuitBreaker') {
      var badge = el('span', 'badge', top, '-');
      badge.setAttribute('data-field', 'state');
      card.badge = badge;
    }
    var rates = el('div', 'rates', root);
    var rate = el('div', 'big', rates);
    var r = el('span', '', rate, '-');
    r.setAttribute('data-field', 'rate');
    el('small', '', rate, '/s');
    var err = el('div', 'big err', rates);
    var e = el('span', '', err, '-');
    e.setAttribute('data-field', 'errorPct');
    el('small', '', err, 'errors');
    card.err = err;
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 120 30');
    svg.setAttribute('preserveAspectRatio', 'none');
    var line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    svg.appendChild(line);
    rates.appendChild(svg);
    card.spark = line;
    var counts = el('div', 'counts', root);
    field(counts, 'ok', 'success');
    field(counts, 'failed', 'failure');
    field(counts, 'rejected', 'rejected');
    if (p.kind === 'timeout' || p.kind === 'adaptiveTimeout') field(counts, 'timeouts', 'timeouts');
    if (p.kind === 'retry') field(counts, 'retries', 'retries');
    if (p.kind === 'fallback') field(counts, 'fallbacks', 'fallbacks');
    field(counts, 'ignored', 'ignored');
    if (kind === 'circuitBreaker') {
      var w = el('div', 'line', root);
      field(w, 'breaker window: calls', 'windowCalls');
      el('span', '', w, ' · ');
      field(w, 'failed', 'failureRate');
      el('span', '', w, ' · ');
      field(w, 'slow', 'slowCallRate');
      var f = el('div', 'line', root);
      field(f, 'in flight', 'inflight');
      var retry = el('span', '', f);
      el('span', '', retry, ' · ');
      field(retry, 'next probe in', 'retryAfter');
      card.retryLine = retry;
    }
    if (kind === 'bulkhead') {
      var u = el('div', 'line', root);
      field(u, 'in flight', 'inflight');
      el('span', '', u, ' / ');
      field(u, 'limit', 'limit');
      el('span', '', u, ' · ');
      field(u, 'queued', 'queued');
      el('span', '', u, ' / ');
      field(u, 'capacity', 'queueCapacity');
      var bar = el('div', 'bar', root);
      card.bar = el('i', '', bar);
      var q = el('div', 'line', root);
      field(q, 'since start: admitted', 'admitted');
      el('span', '', q, ' · ');
      field(q, 'rejected', 'rejectedTotal');
    }
    if (kind === 'slo') card.objectives = el('div', 'objectives', root);
    var lat = el('div', 'lat', root);
    ['p50', 'p90', 'p99', 'p99.9', 'max'].forEach(function (label) {
      el('span', '', lat, label);
    });
    ['p50', 'p90', 'p99', 'p999', 'max'].forEach(function (name) {
      el('b', '', lat, '-').setAttribute('data-field', name);
    });
    var all = root.querySelectorAll('[data-field]');
    for (var i = 0; i < all.length; i++) card.fields[all[i].getAttribute('data-field')] = all[i];
    sections[kind].querySelector('.grid').appendChild(root);
    sections[kind].hidden = false;
    return card;
  }

  function spark(card, name, rate) {
    var h = history.get(name);
    if (!h) history.set(name, (h = []));
    h.push(rate);
    if (h.length > HISTORY) h.shift();
    var max = Math.max.apply(null, h.concat([1]));
    // The newest point at the right edge; the line grows leftwards as history accumulates.
    var step = 120 / (HISTORY - 1);
    var pts = h.map(function (v, i) {
      return (120 - (h.length - 1 - i) * step).toFixed(1) + ',' + (29 - (v / max) * 27).toFixed(1);
    });
    card.spark.setAttribute('points', pts.join(' '));
  }

  // One line per objective: target, compliance, budget left (with a bar) and the alerts firing. Rebuilt
  // each frame: an SLO has one or two objectives.
  function objectives(card, list) {
    var box = card.objectives;
    while (box.firstChild) box.removeChild(box.firstChild);
    list.forEach(function (o) {
      var line = el('div', 'line', box);
      line.setAttribute('data-objective', o.objective);
      el('span', '', line, o.objective + ' ' + num(o.target * 100, 2) + ' % · compliance ');
      el('b', '', line, pct(o.compliance * 100));
      el('span', '', line, ' · budget left ');
      el('b', '', line, pct(o.budgetRemaining * 100)).setAttribute('data-field', o.objective + 'Budget');
      var bar = el('div', 'bar', box);
      var left = Math.max(0, Math.min(1, o.budgetRemaining));
      var fill = el('i', '', bar);
      fill.style.width = (left * 100).toFixed(1) + '%';
      fill.setAttribute('data-level', left <= 0.1 ? 'bad' : left <= 0.5 ? 'warn' : 'ok');
      var firing = (o.alerts || []).filter(function (a) {
        return a.firing;
      });
      var alerts = el('div', 'line', box);
      alerts.setAttribute('data-field', o.objective + 'Alerts');
      alerts.textContent = firing.length === 0
        ? 'no burn-rate alert firing'
        : 'firing: ' + firing.map(function (a) {
            return a.name + ' (' + a.severity + ', burn ' + num(a.longBurnRate, 1) + 'x)';
          }).join(', ');
      alerts.setAttribute('data-level', firing.length === 0 ? 'ok' : 'bad');
    });
  }

  function render(frame) {
    var seen = new Set();
    frame.policies.forEach(function (p) {
      var key = p.kind + '\\n' + p.name;
      seen.add(key);
      var card = cards.get(key);
      if (!card) cards.set(key, (card = build(p)));
      var s = p.snapshot || {};
      var w = p.window;
      set(card, 'rate', num(p.ratePerSec, p.ratePerSec < 10 ? 1 : 0));
      set(card, 'errorPct', pct(p.errorPct));
      card.err.setAttribute('data-level', p.errorPct >= 10 ? 'bad' : 'ok');
      set(card, 'success', count(w.success));
      set(card, 'failure', count(w.failure));
      set(card, 'rejected', count(w.rejected));
      set(card, 'ignored', count(w.ignored));
      set(card, 'timeouts', count(w.timeouts));
      set(card, 'retries', count(w.retries));
      set(card, 'fallbacks', count(w.fallbacks));
      var l = p.latency || {};
      set(card, 'p50', ms(l.p50));
      set(card, 'p90', ms(l.p90));
      set(card, 'p99', ms(l.p99));
      set(card, 'p999', ms(l.p999));
      set(card, 'max', ms(l.max));
      spark(card, key, p.ratePerSec || 0);
      if (card.kind === 'circuitBreaker') {
        set(card, 'state', s.state || '-');
        card.root.setAttribute('data-state', s.state || '');
        card.badge.setAttribute('data-state', s.state || '');
        set(card, 'failureRate', pct(s.failureRate * 100));
        set(card, 'slowCallRate', pct(s.slowCallRate * 100));
        set(card, 'windowCalls', count(s.calls));
        set(card, 'inflight', count(s.inflight));
        var waiting = s.state === 'open' && typeof s.retryAfterMs === 'number';
        card.retryLine.hidden = !waiting;
        set(card, 'retryAfter', waiting ? ms(s.retryAfterMs) : '-');
      }
      if (card.kind === 'slo') objectives(card, s.objectives || []);
      if (card.kind === 'bulkhead') {
        set(card, 'inflight', count(s.inflight));
        set(card, 'limit', count(s.limit));
        set(card, 'queued', count(s.queueSize));
        set(card, 'queueCapacity', count(s.queueCapacity));
        set(card, 'admitted', count(s.admitted));
        set(card, 'rejectedTotal', count(s.rejected));
        var used = s.limit > 0 ? Math.min(1, s.inflight / s.limit) : 0;
        card.bar.style.width = (used * 100).toFixed(1) + '%';
        card.bar.setAttribute('data-level', used >= 1 ? 'bad' : used >= 0.75 ? 'warn' : 'ok');
      }
    });
    cards.forEach(function (card, key) {
      if (seen.has(key)) return;
      card.root.remove();
      cards.delete(key);
      history.delete(key);
    });
    Object.keys(sections).forEach(function (k) {
      sections[k].hidden = !sections[k].querySelector('.card');
    });
    document.getElementById('empty').hidden = frame.policies.length > 0;
    document.getElementById('window').textContent =
      'window ' + frame.windowMs / 1000 + ' s · every ' + frame.intervalMs / 1000 + ' s';
  }

  var path = location.pathname;
  if (/\\/index\\.html$/.test(path)) path = path.slice(0, -10);
  if (path.charAt(path.length - 1) !== '/') path += '/';
  var source = new EventSource(path + 'events');
  source.onopen = function () {
    status.textContent = 'live';
    status.setAttribute('data-state', 'live');
  };
  source.onerror = function () {
    status.textContent = source.readyState === 2 ? 'disconnected' : 'reconnecting';
    status.setAttribute('data-state', 'disconnected');
  };
  source.onmessage = function (message) {
    render(JSON.parse(message.data));
  };
})();
`;

function hash(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/** Only the inline style and script above may run; the page may connect to its own origin only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page, with the title escaped in. */
export function renderPage(title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t} · resilience dashboard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>${t}</h1><span class="meta" id="window"></span><span id="status" data-state="connecting">connecting</span></header>
<main>
<p class="empty" id="empty" hidden>No policies registered.</p>
<section id="breakers" hidden><h2>Circuit breakers</h2><div class="grid"></div></section>
<section id="bulkheads" hidden><h2>Bulkheads</h2><div class="grid"></div></section>
<section id="slos" hidden><h2>Service-level objectives</h2><div class="grid"></div></section>
<section id="others" hidden><h2>Other policies</h2><div class="grid"></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
