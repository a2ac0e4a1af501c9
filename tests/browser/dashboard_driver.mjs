#!/usr/bin/env node
/*
 * dashboard_driver.mjs: drives Debian's chromium against the analytics
 * dashboard for the end-to-end test. A Python test starts it (node
 * tests/browser/dashboard_driver.mjs, after `npm ci` in tests/browser) and
 * talks to it over stdin/stdout, one JSON object per line each way: one answer
 * per command, in order. Answers are {"ok": true, ...} or {"ok": false,
 * "error": "..."}; diagnostics go to stderr. Every command has a timeout
 * (timeout_ms, default 30000), so the driver never hangs; at the end of stdin
 * it closes chromium and exits.
 *
 * Commands:
 *   {"cmd":"open","url":U}         load U, wait until every figure is rendered
 *                                  -> {ok, generation, chart_js, page_errors,
 *                                      external_requests}; ok false when a
 *                                  section of the page failed to load
 *   {"cmd":"figures"}              -> {ok, figures: {testid: data-value}, count}
 *   {"cmd":"wait_change","testid":T,"from":V,"timeout_ms":N}
 *                                  wait, without reloading, until T's
 *                                  data-value differs from V -> {ok, value}
 *   {"cmd":"filter","year":Y,"group":G,"pillar":P}
 *                                  set the filters through the form with the
 *                                  keyboard (an absent key keeps its value;
 *                                  null, 0 or "" means all), press Apply and
 *                                  wait for the figures -> {ok, filter, method}
 *   {"cmd":"screenshot","path":F,"full_page":B,"width":W,"height":H,"selector":S}
 *                                  PNG of the viewport, the whole page, or
 *                                  the first element matching S
 *   {"cmd":"pdf","path":F}         print media, A4 -> {ok, bytes, pages}
 *   {"cmd":"a11y"}                 automated checks -> {ok, passed, checks}
 *   {"cmd":"ping"}                 -> {ok, user_agent}
 *   {"cmd":"close"}                close chromium and exit
 *
 * Chromium: /usr/bin/chromium (COMPACT_CHROMIUM overrides), headless, a fresh
 * user data directory removed at the end, a 1366x768 viewport.
 */
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

const CHROMIUM = process.env.COMPACT_CHROMIUM || '/usr/bin/chromium';
const DEFAULT_TIMEOUT_MS = 30000;
const LAUNCH_TIMEOUT_MS = 60000;
const VIEWPORT = { width: 1366, height: 768 };
const A4_PRINT_WIDTH_PX = 703;      // 210 mm less app.css's 12 mm margins, at 96 px per inch
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const userDataDir = mkdtempSync(join(tmpdir(), 'compact-chromium-'));
let context = null;
let page = null;
let pageErrors = [];
let externalRequests = [];
let pageOrigin = '';              // the origin of the URL last opened
let closing = false;

function log(...args) { process.stderr.write('driver: ' + args.join(' ') + '\n'); }

function answer(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

// The time left of a command's budget, for each of its waits in turn.
function budget(ms) {
  const deadline = Date.now() + ms;
  return () => Math.max(1, deadline - Date.now());
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ browser

const launching = chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ARGS,
  viewport: VIEWPORT,
  timeout: LAUNCH_TIMEOUT_MS,
  locale: 'en-GB',
  timezoneId: 'UTC',
}).then((ctx) => {
  context = ctx;
  ctx.on('close', () => { if (!closing) log('chromium closed'); });
  return ctx;
});
launching.catch((e) => log('launch failed:', e.message));

async function ensurePage() {
  const ctx = await withTimeout(launching, LAUNCH_TIMEOUT_MS, 'launching chromium');
  if (page && !page.isClosed()) return page;
  page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
  page.on('pageerror', (e) => pageErrors.push(String(e.message || e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push('console: ' + m.text()); });
  page.on('request', (r) => {
    const url = r.url();
    if (/^(data|blob|about):/.test(url)) return;
    try {
      if (pageOrigin && new URL(url).origin !== pageOrigin) externalRequests.push(url);
    } catch { /* a URL we cannot parse is not ours to judge */ }
  });
  return page;
}

function requirePage() {
  if (!page || page.isClosed()) throw new Error('no page open: send "open" first');
  return page;
}

// The page says it is done: <html data-state="ready" data-generation="N">.
async function waitReady(p, timeout, afterGeneration) {
  await p.waitForFunction((g) => {
    const d = document.documentElement.dataset;
    return d.state === 'ready' && Number(d.generation || 0) > g;
  }, afterGeneration, { timeout, polling: 50 });
  // Fonts loaded and two frames painted, so charts are drawn.
  await p.evaluate(() => document.fonts.ready.then(() => new Promise((r) =>
    requestAnimationFrame(() => requestAnimationFrame(r)))));
}

async function generation(p) {
  return p.evaluate(() => Number(document.documentElement.dataset.generation || 0));
}

// ------------------------------------------------------------------ commands

async function cmdOpen(c, timeout) {
  if (!c.url) throw new Error('open needs "url"');
  const left = budget(timeout);
  const p = await ensurePage();
  pageErrors = [];
  externalRequests = [];
  pageOrigin = new URL(String(c.url)).origin;
  // After a failed load chromium shows its error page; leave it first, or
  // the next load is taken for an interrupted one.
  if (p.url().startsWith('chrome-error:')) await p.goto('about:blank', { timeout: left() }).catch(() => {});
  await p.goto(String(c.url), { waitUntil: 'domcontentloaded', timeout: left() });
  await waitReady(p, left(), 0);
  const info = await p.evaluate(() => ({
    generation: Number(document.documentElement.dataset.generation || 0),
    chartJs: typeof window.Chart === 'function',
    sectionErrors: [...document.querySelectorAll('.section-error')]
      .filter((e) => !e.hidden).map((e) => e.closest('section').id + ': ' + e.textContent.trim()),
  }));
  if (info.sectionErrors.length) {
    return { ok: false, error: 'sections failed to load: ' + info.sectionErrors.join('; '), page_errors: pageErrors };
  }
  return { ok: true, generation: info.generation, chart_js: info.chartJs, page_errors: pageErrors,
    external_requests: externalRequests };
}

async function cmdFigures(c, timeout) {
  const p = requirePage();
  await waitReady(p, timeout, 0);
  const r = await p.evaluate(() => {
    const figures = {};
    const duplicates = [];
    for (const el of document.querySelectorAll('[data-testid]')) {
      const id = el.getAttribute('data-testid');
      if (id in figures) duplicates.push(id);
      figures[id] = el.hasAttribute('data-value') ? el.getAttribute('data-value') : el.textContent.trim();
    }
    return { figures, duplicates };
  });
  return { ok: true, figures: r.figures, count: Object.keys(r.figures).length, duplicates: r.duplicates,
    page_errors: pageErrors };
}

async function cmdWaitChange(c, timeout) {
  if (!c.testid) throw new Error('wait_change needs "testid"');
  const p = requirePage();
  const read = (id) => p.evaluate((t) => {
    const el = document.querySelector(`[data-testid="${CSS.escape(t)}"]`);
    if (!el) return null;
    return el.hasAttribute('data-value') ? el.getAttribute('data-value') : el.textContent.trim();
  }, id);
  const from = c.from === undefined || c.from === null ? await read(c.testid) : String(c.from);
  const started = Date.now();
  try {
    const handle = await p.waitForFunction(([t, f]) => {
      const el = document.querySelector(`[data-testid="${CSS.escape(t)}"]`);
      if (!el) return false;
      const v = el.hasAttribute('data-value') ? el.getAttribute('data-value') : el.textContent.trim();
      return v !== f ? { value: v } : false;
    }, [String(c.testid), from], { timeout, polling: 100 });
    const v = await handle.jsonValue();
    return { ok: true, value: v.value, from, waited_ms: Date.now() - started };
  } catch (e) {
    const now = await read(c.testid).catch(() => null);
    if (/Timeout|timeout/.test(e.message)) {
      return { ok: false, value: now, error: now === null ? `no element with data-testid ${c.testid} after ${timeout} ms`
        : `${c.testid} still ${JSON.stringify(now)} after ${timeout} ms` };
    }
    throw e;
  }
}

// Moves a <select> to a value with the keyboard: focus, Home, ArrowDown.
// Falls back to selectOption (and says so) if the keys did not get there.
async function selectByKeyboard(p, selector, value) {
  const select = p.locator(selector);
  const options = await select.evaluate((s) => [...s.options].map((o) => o.value));
  const index = options.indexOf(value);
  if (index < 0) {
    const offered = options.map((o) => JSON.stringify(o)).join(', ');
    throw new Error(`${selector} offers no ${JSON.stringify(value)} (it offers ${offered})`);
  }
  await select.focus();
  await p.keyboard.press('Home');
  for (let i = 0; i < index; i++) await p.keyboard.press('ArrowDown');
  if (await select.inputValue() === value) return 'keyboard';
  await select.selectOption(value);
  return 'selectOption';
}

function filterValue(v) {
  if (v === null || v === 0 || v === '' || v === '0') return '';
  return String(v);
}

async function cmdFilter(c, timeout) {
  const left = budget(timeout);
  const p = requirePage();
  await waitReady(p, left(), 0);
  const wanted = {};
  const methods = [];
  for (const [key, selector] of [['year', '#filter-year'], ['group', '#filter-group'], ['pillar', '#filter-pillar']]) {
    wanted[key] = key in c ? filterValue(c[key]) : await p.locator(selector).inputValue();
    if (key in c) methods.push(await selectByKeyboard(p, selector, wanted[key]));
  }
  const before = await generation(p);
  // Tab from the last select to the Apply button, as a user would.
  let reached = false;
  for (let i = 0; i < 6 && !reached; i++) {
    reached = await p.evaluate(() => document.activeElement && document.activeElement.id === 'filter-apply');
    if (!reached) await p.keyboard.press('Tab');
  }
  if (!reached) {
    await p.locator('#filter-apply').focus();
    methods.push('focus');
  }
  await p.keyboard.press('Enter');
  await p.waitForFunction(([g, w]) => {
    const d = document.documentElement.dataset;
    if (d.state !== 'ready' || Number(d.generation || 0) <= g) return false;
    const q = new URLSearchParams(d.filter || '');
    return (q.get('year') || '') === w.year && (q.get('group') || '') === w.group && (q.get('pillar') || '') === w.pillar;
  }, [before, wanted], { timeout: left(), polling: 50 });
  await waitReady(p, left(), before);
  const method = methods.every((m) => m === 'keyboard') ? 'keyboard' : 'mixed: ' + methods.join(', ');
  return { ok: true, filter: wanted, method, generation: await generation(p) };
}

async function cmdScreenshot(c, timeout) {
  if (!c.path) throw new Error('screenshot needs "path"');
  const p = requirePage();
  if (c.width || c.height) {
    await p.setViewportSize({ width: Number(c.width) || VIEWPORT.width, height: Number(c.height) || VIEWPORT.height });
    await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  if (c.selector) {
    await p.locator(String(c.selector)).first().screenshot({ path: String(c.path), timeout, animations: 'disabled' });
  } else {
    await p.screenshot({ path: String(c.path), fullPage: c.full_page === true, timeout, animations: 'disabled' });
  }
  return { ok: true, path: String(c.path), bytes: statSync(String(c.path)).size };
}

async function cmdPdf(c, timeout) {
  if (!c.path) throw new Error('pdf needs "path"');
  const p = requirePage();
  // Lay the page out at the width of an A4 page's printable area first, as a
  // browser does when it prints, so the charts redraw at the width they print.
  const viewport = p.viewportSize() || VIEWPORT;
  await p.setViewportSize({ width: A4_PRINT_WIDTH_PX, height: viewport.height });
  await p.emulateMedia({ media: 'print' });
  try {
    await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 100)))));
    await p.pdf({ path: String(c.path), format: 'A4', printBackground: true, preferCSSPageSize: true, timeout });
  } finally {
    await p.emulateMedia({ media: 'screen' });
    await p.setViewportSize(viewport);
  }
  const bytes = readFileSync(String(c.path));
  const pages = (bytes.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || []).length;
  return { ok: true, path: String(c.path), bytes: bytes.length, pages };
}

// ------------------------------------------------------------------ a11y

// Runs in the page: the checks that need only the DOM and computed styles.
function domChecks() {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const t = el.getAttribute('data-testid');
    if (t) s += `[data-testid=${t}]`;
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ');
    return text ? `${s} "${text.slice(0, 40)}"` : s;
  };
  const cap = (a) => a.slice(0, 20);

  // 1. Every chart has a table with the same data.
  const chartFailures = [];
  const canvases = [...document.querySelectorAll('canvas')];
  let compared = 0;
  for (const canvas of canvases) {
    const table = document.getElementById(canvas.dataset.table || '');
    if (!table || table.tagName !== 'TABLE') { chartFailures.push(`${describe(canvas)}: no table`); continue; }
    const chart = window.Chart && window.Chart.getChart(canvas);
    if (!chart) { chartFailures.push(`${describe(canvas)}: no chart drawn`); continue; }
    const scale = Number(table.dataset.chartScale || 1);
    const rows = [...table.tBodies].flatMap((b) => [...b.rows]).filter((r) => r.hasAttribute('data-label'));
    const labels = chart.data.labels.map(String);
    if (rows.length !== labels.length) chartFailures.push(`${table.id}: ${rows.length} rows for ${labels.length} chart labels`);
    for (const ds of chart.data.datasets) {
      labels.forEach((label, i) => {
        const row = rows.find((r) => r.dataset.label === label);
        const cell = row && [...row.cells].find((td) => td.dataset.series === ds.label);
        if (!cell) { chartFailures.push(`${table.id}: no cell for ${label} / ${ds.label}`); return; }
        const inTable = Number(cell.dataset.value) / scale;
        const inChart = Number(ds.data[i]);
        compared++;
        if (Math.abs(inTable - inChart) > 1e-9 * Math.max(1, Math.abs(inChart))) {
          chartFailures.push(`${table.id}: ${label} / ${ds.label}: table ${inTable}, chart ${inChart}`);
        }
      });
    }
  }

  // 2. Text alternatives for images and charts.
  const altFailures = [];
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) altFailures.push(describe(img));
  for (const c of canvases) {
    const label = c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
    if (c.getAttribute('role') !== 'img' || !label) altFailures.push(describe(c) + ': no role=img with a label');
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('aria-hidden') === 'true') continue;
    if (!svg.getAttribute('aria-label') && !svg.querySelector('title')) altFailures.push(describe(svg));
  }

  // 3. Form controls have labels, buttons have names.
  const labelFailures = [];
  for (const el of document.querySelectorAll('select, input:not([type=hidden]), textarea')) {
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
      labelFailures.push(describe(el));
    }
  }
  for (const b of document.querySelectorAll('button')) {
    if (!b.textContent.trim() && !b.getAttribute('aria-label')) labelFailures.push(describe(b));
  }

  // 4. Text contrast, from computed colours composited over the backgrounds
  // behind them (WCAG 2 relative luminance; 4.5:1 for all text).
  const parse = (s) => {
    const m = /^rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[,/ ]+([\d.]+))?\)$/.exec(s.trim());
    return m ? { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] } : null;
  };
  const over = (top, below) => ({
    r: top.r * top.a + below.r * (1 - top.a), g: top.g * top.a + below.g * (1 - top.a),
    b: top.b * top.a + below.b * (1 - top.a), a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage && cs.backgroundImage !== 'none') return null;
      const c = parse(cs.backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), { r: 255, g: 255, b: 255, a: 1 });
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrastFailures = [];
  let checkedText = 0;
  let unknownBackground = 0;
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'OPTION', 'CANVAS', 'NOSCRIPT'].includes(el.tagName)) continue;
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!hasText || !visible(el) || el.closest('canvas')) continue;
    const bg = background(el);
    if (!bg) { unknownBackground++; continue; }
    const fg = parse(getComputedStyle(el).color);
    if (!fg) { unknownBackground++; continue; }
    const text = over(fg, bg);
    const l1 = lum(text), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    checkedText++;
    if (ratio < 4.5) contrastFailures.push(`${describe(el)}: ${ratio.toFixed(2)}:1`);
  }

  // 5. The document: language, title, one h1, no skipped heading level.
  const docFailures = [];
  if (!document.documentElement.lang) docFailures.push('no lang on <html>');
  if (!document.title.trim()) docFailures.push('no <title>');
  if (document.querySelectorAll('h1').length !== 1) docFailures.push('not exactly one h1');
  let last = 0;
  for (const hd of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(hd.tagName[1]);
    if (level > last + 1) docFailures.push(`${describe(hd)} jumps from h${last} to h${level}`);
    last = level;
  }

  // 6. Layout: no horizontal scrolling at this viewport.
  const scrollWidth = document.documentElement.scrollWidth;
  const clientWidth = document.documentElement.clientWidth;

  return {
    chart_tables: { passed: chartFailures.length === 0, charts: canvases.length, values_compared: compared,
      failures: cap(chartFailures) },
    text_alternatives: { passed: altFailures.length === 0, failures: cap(altFailures) },
    labels: { passed: labelFailures.length === 0, failures: cap(labelFailures) },
    contrast: { passed: contrastFailures.length === 0, minimum: 4.5, text_elements: checkedText,
      not_computable: unknownBackground, failures: cap(contrastFailures) },
    document: { passed: docFailures.length === 0, failures: cap(docFailures) },
    layout: { passed: scrollWidth <= clientWidth, scroll_width: scrollWidth, client_width: clientWidth,
      viewport_width: window.innerWidth },
  };
}

// Walks the page with Tab from the top: every control that should take the
// keyboard focus must get it, and show it (an outline or a box shadow).
async function focusWalk(p) {
  const scroll = await p.evaluate(() => [window.scrollX, window.scrollY]);
  const controls = await p.evaluate(() => {
    // Natively interactive elements count even when tabindex="-1" took them
    // out of the tab order (then they are reported as not reached); other
    // elements count when a tabindex put them in it.
    const native = 'a[href], button, select, input:not([type=hidden]), textarea, summary';
    let n = 0;
    const out = [];
    for (const el of document.querySelectorAll(native + ', [tabindex]')) {
      if (el.disabled || el.closest('[hidden], [inert]')) continue;
      if (!el.matches(native) && el.tabIndex < 0) continue;
      const cs = getComputedStyle(el);
      if (cs.display === 'none' || cs.visibility === 'hidden' || !el.getClientRects().length) continue;
      el.dataset.a11yControl = String(n++);
      out.push(el.dataset.a11yControl);
    }
    document.body.setAttribute('tabindex', '-1');
    document.body.focus();
    document.body.removeAttribute('tabindex');
    return out;
  });
  const reached = new Set();
  const noIndicator = [];
  for (let i = 0; i < controls.length + 5; i++) {
    await p.keyboard.press('Tab');
    const f = await p.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1;
      const shadow = cs.boxShadow && cs.boxShadow !== 'none';
      const text = (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40);
      const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (text ? ` "${text}"` : '');
      return { id: el.dataset.a11yControl || null, what, indicator: outline || shadow };
    });
    if (!f) break;                       // focus left the page: the walk is over
    if (f.id !== null && reached.has(f.id)) break;
    if (f.id !== null) reached.add(f.id);
    if (!f.indicator) noIndicator.push(f.what);
  }
  const missed = await p.evaluate((ids) => ids.map((id) => {
    const el = document.querySelector(`[data-a11y-control="${id}"]`);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ` "${(el.textContent || '').trim().slice(0, 40)}"`;
  }), controls.filter((id) => !reached.has(id)));
  await p.evaluate(([x, y]) => {
    for (const el of document.querySelectorAll('[data-a11y-control]')) delete el.dataset.a11yControl;
    if (document.activeElement) document.activeElement.blur();
    window.scrollTo(x, y);              // the walk scrolled; put the page back
  }, scroll);
  return {
    passed: missed.length === 0 && noIndicator.length === 0,
    controls: controls.length, reached_by_tab: reached.size,
    not_reached: missed.slice(0, 20), no_visible_focus: noIndicator.slice(0, 20),
  };
}

async function cmdA11y(c, timeout) {
  const p = requirePage();
  await waitReady(p, timeout, 0);
  // The checks themselves are bounded: one evaluation, and a Tab walk of at
  // most as many steps as there are controls (plus a few).
  const checks = await p.evaluate(domChecks);
  checks.keyboard = await focusWalk(p);
  const passed = Object.values(checks).every((x) => x.passed);
  return { ok: true, passed, checks };
}

async function cmdPing() {
  const p = await ensurePage();
  return { ok: true, user_agent: await p.evaluate(() => navigator.userAgent) };
}

// ------------------------------------------------------------------ the loop

const COMMANDS = {
  open: cmdOpen, figures: cmdFigures, wait_change: cmdWaitChange, filter: cmdFilter,
  screenshot: cmdScreenshot, pdf: cmdPdf, a11y: cmdA11y, ping: cmdPing,
};

async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    const ctx = context || await withTimeout(launching, 5000, 'launch').catch(() => null);
    if (ctx) await withTimeout(ctx.close(), 10000, 'closing chromium').catch((e) => log(e.message));
  } finally {
    try { rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
    process.exit(code);
  }
}

async function handle(line) {
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: 'not JSON: ' + e.message };
  }
  if (!c || typeof c !== 'object') return { ok: false, error: 'a command is a JSON object' };
  if (c.cmd === 'close') return null;
  const fn = COMMANDS[c.cmd];
  if (!fn) return { ok: false, error: `unknown command ${JSON.stringify(c.cmd)}` };
  const timeout = Number(c.timeout_ms) > 0 ? Number(c.timeout_ms) : DEFAULT_TIMEOUT_MS;
  try {
    // The command's own waits use `timeout`; the outer one catches the rest.
    return await withTimeout(fn(c, timeout), timeout + 5000, c.cmd);
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message.split('\n')[0] : e) };
  }
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    if (closing) return;
    const r = await handle(line);
    if (r === null) {
      answer({ ok: true });
      await shutdown(0);
      return;
    }
    answer(r);
  });
});
rl.on('close', () => { queue.then(() => shutdown(0)); });
process.stdout.on('error', () => shutdown(1));   // the test went away
process.on('SIGTERM', () => shutdown(143));
process.on('SIGINT', () => shutdown(130));
process.on('unhandledRejection', (e) => log('unhandled:', e && e.message ? e.message : String(e)));
