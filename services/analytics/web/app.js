/*
 * app.js: the behaviour of the Compact analytics dashboard (index.html).
 *
 * It reads the analytics service's HTTP API (/api/*, the proto3 JSON mapping
 * of compact.analytics.v1: lowerCamelCase names, int64 as strings, enums by
 * name, zero values possibly left out), renders one section per call, and
 * keeps the overview live through the server-sent events of /api/events.
 * Plain script, no framework, no build step; Chart.js (the global `Chart`,
 * served as /assets/chart.umd.js) draws the charts when it is there, and every
 * chart has a table with the same figures whether it is there or not.
 *
 * Conventions the end-to-end test relies on:
 * - every figure carries data-testid and data-value (the raw value as the API
 *   gave it: int64 as its decimal string, doubles as JavaScript prints them,
 *   enums by name); its text is the value formatted for people;
 * - <html data-state="loading|ready"> and data-generation (incremented after
 *   every complete load) say when the figures are all rendered; data-filter
 *   is the query string of the filter they were loaded with;
 * - a chart's <canvas data-table="ID"> names its table; the table's rows carry
 *   data-label (the chart's label) and its cells data-series (the dataset's
 *   label), and data-chart-scale says what to divide data-value by to get the
 *   chart's number.
 *
 * Layout of this file: constants; reading proto3 JSON; formatting; DOM
 * helpers; the API; charts and tables; one render function per section; the
 * filters; loading; live updates; start.
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------- constants

  var LOCALE = 'en-GB';
  var FETCH_TIMEOUT_MS = 15000;
  var QUIET_REFRESH_MS = 5000;      // live: other sections reload at most this often
  var RECONNECT_MS = 10000;         // live: retry after the event stream closed
  var RETRY_MS = 15000;             // a section that failed to load is tried again
  var ANNOUNCE_MS = 60000;          // live: screen readers hear of updates at most this often
  var FIRST_YEAR = 2018;            // the Compact was signed in February 2018

  var PILLARS = [
    { n: 1, roman: 'I', name: 'Addressing the conditions conducive to the spread of terrorism' },
    { n: 2, roman: 'II', name: 'Preventing and combating terrorism' },
    { n: 3, roman: 'III', name: "Building States' capacity and strengthening the role of the UN system" },
    { n: 4, roman: 'IV', name: 'Ensuring respect for human rights and the rule of law' }
  ];

  // Funding stages, in the order money moves; colours from light to dark.
  var STAGES = [
    { key: 'pledged', field: 'pledgedMinor', label: 'Pledged', color: '#a9cbe8' },
    { key: 'committed', field: 'committedMinor', label: 'Committed', color: '#5f9ed6' },
    { key: 'received', field: 'receivedMinor', label: 'Received', color: '#2f74b5' },
    { key: 'disbursed', field: 'disbursedMinor', label: 'Disbursed', color: '#1b4f86' },
    { key: 'spent', field: 'spentMinor', label: 'Spent', color: '#0b2a4a' }
  ];

  var ROLES = {
    ROLE_CHAIR: { label: 'Chair', cls: 'role-chair' },
    ROLE_VICE_CHAIR: { label: 'Vice-chair', cls: 'role-vice' },
    ROLE_MEMBER: { label: 'Member', cls: 'role-member' },
    ROLE_OBSERVER: { label: 'Observer', cls: 'role-observer' }
  };
  var ROLE_NAMES = ['ROLE_UNSPECIFIED', 'ROLE_CHAIR', 'ROLE_VICE_CHAIR', 'ROLE_MEMBER', 'ROLE_OBSERVER'];

  var TRACK = [
    { key: 'on-track', field: 'onTrack', label: 'On track', color: '#2a6fb0' },
    { key: 'off-track', field: 'offTrack', label: 'Off track', color: '#c0502a' },
    { key: 'no-data', field: 'noData', label: 'No data', color: '#b8c0c9' }
  ];

  // Activity areas by the event type's prefix ("project.created").
  var AREAS = { entity: 'Membership', workgroup: 'Working groups', project: 'Projects' };
  var AREA_COLORS = ['#5f9ed6', '#2e8b7a', '#1b4f86', '#8a6fb0', '#9aa5b1'];

  var state = {
    filter: { year: '', group: '', pillar: '' },  // as the form applied it
    groups: [],                 // GroupLabel, for the filter and for labels
    data: {},                   // the last answer of each call
    charts: new Map(),          // figure id -> Chart
    tableShown: new Map(),      // figure id -> whether its table is shown
    loadToken: 0,
    generation: 0,
    overviewStamp: '',          // asOf + eventsApplied of the overview shown
    events: null,               // the EventSource
    reconnectTimer: 0,
    quietTimer: 0,
    announcedAt: 0
  };

  // ------------------------------------------------------ reading proto3 JSON
  // A proto3 JSON encoder may leave out fields holding their default value and
  // a parser accepts the original snake_case names too, so every read goes
  // through these, with the default when the field is absent.

  function snakeCase(name) {
    return name.replace(/[A-Z]/g, function (c) { return '_' + c.toLowerCase(); });
  }

  function field(obj, name) {
    if (!obj || typeof obj !== 'object') return undefined;
    if (obj[name] !== undefined) return obj[name];
    return obj[snakeCase(name)];
  }

  function int64(obj, name) {            // the decimal string, "0" when absent
    var v = field(obj, name);
    return v === undefined || v === null || v === '' ? '0' : String(v);
  }

  function double(obj, name) {
    var v = field(obj, name);
    return v === undefined || v === null ? 0 : Number(v);
  }

  function doubleRaw(obj, name) {
    var v = field(obj, name);
    return v === undefined || v === null ? '0' : String(v);
  }

  function text(obj, name) {
    var v = field(obj, name);
    return v === undefined || v === null ? '' : String(v);
  }

  function flag(obj, name) {
    return field(obj, name) === true;
  }

  function list(obj, name) {
    var v = field(obj, name);
    return Array.isArray(v) ? v : [];
  }

  function msg(obj, name) {
    var v = field(obj, name);
    return v && typeof v === 'object' ? v : {};
  }

  function enumName(obj, name, names) {
    var v = field(obj, name);
    if (typeof v === 'number') return names[v] || String(v);
    return v ? String(v) : names[0];
  }

  function big(raw) {
    try { return BigInt(raw); } catch (e) { return 0n; }
  }

  // ---------------------------------------------------------------- formatting

  var countFormat = new Intl.NumberFormat(LOCALE);
  var usdFormat = new Intl.NumberFormat(LOCALE, { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
  var usdAxisFormat = new Intl.NumberFormat(LOCALE, {
    style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1
  });
  var percentFormat = new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: 1 });
  var dateTimeFormat = new Intl.DateTimeFormat(LOCALE, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
    second: '2-digit', timeZone: 'UTC', timeZoneName: 'short'
  });
  var dateFormat = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  var monthFormat = new Intl.DateTimeFormat(LOCALE, { month: 'short', year: 'numeric', timeZone: 'UTC' });
  var regionNames = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames([LOCALE], { type: 'region' }) : null;

  function roundDiv(a, b) {              // a / b rounded half away from zero, BigInt
    var q = a / b, r = a % b;
    if (r * 2n >= b) return q + 1n;
    if (r * 2n <= -b) return q - 1n;
    return q;
  }

  function formatCount(raw) { return countFormat.format(big(raw)); }

  // US dollar cents (an int64 string) as whole dollars: "US$1,234,567".
  function formatUsd(rawMinor) { return usdFormat.format(roundDiv(big(rawMinor), 100n)); }

  // Cents as whole dollars without the symbol, for tables whose caption names it.
  function formatDollars(rawMinor) { return countFormat.format(roundDiv(big(rawMinor), 100n)); }

  function currencyDigits(code) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
    } catch (e) {
      return 2;
    }
  }

  // An amount in a currency's minor unit, in whole units: "3,200,000".
  function formatMajor(rawMinor, code) {
    var digits = currencyDigits(code);
    var unit = 10n ** BigInt(digits);
    return countFormat.format(roundDiv(big(rawMinor), unit));
  }

  function formatPercent(x) { return isFinite(x) ? percentFormat.format(x) : '–'; }

  function parseTime(rfc3339) {           // Date, or null; nanoseconds cut to ms
    if (!rfc3339) return null;
    var t = Date.parse(String(rfc3339).replace(/(\.\d{3})\d+/, '$1'));
    return isNaN(t) ? null : new Date(t);
  }

  function formatTime(rfc3339) {
    var d = parseTime(rfc3339);
    return d ? dateTimeFormat.format(d) : '–';
  }

  // A Timestamp left at zero is printed as 1970-01-01T00:00:00Z: no time.
  function isSetTime(rfc3339) {
    var d = parseTime(rfc3339);
    return !!d && d.getTime() > 0;
  }

  function formatDate(rfc3339) {
    var d = parseTime(rfc3339);
    return d ? dateFormat.format(d) : '–';
  }

  function formatMonth(yyyymm) {
    var m = /^(\d{4})-(\d{2})$/.exec(yyyymm || '');
    return m ? monthFormat.format(new Date(Date.UTC(+m[1], +m[2] - 1, 1))) : yyyymm;
  }

  function countryName(code) {
    if (!code) return 'Global';
    try { return (regionNames && regionNames.of(code)) || code; } catch (e) { return code; }
  }

  function pillarInfo(n) {
    return PILLARS.find(function (p) { return String(p.n) === String(n); }) || { n: n, roman: String(n), name: '' };
  }

  function plural(n, one, many) { return (String(n) === '1' ? one : many); }

  // ---------------------------------------------------------------- DOM helpers

  // h('p', {class: 'x', 'data-testid': 'y'}, 'text', child, [children])
  function h(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'class') e.className = v;
      // Through the CSSOM: the Content-Security-Policy (no 'unsafe-inline')
      // blocks a style attribute, not style properties set by the script.
      else if (k === 'style') e.style.cssText = String(v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(parent, c); }); return; }
    parent.append(child instanceof Node ? child : String(child));
  }

  // A figure a test compares: its text for people, its raw value in data-value.
  function fig(tag, testid, raw, shown, attrs) {
    var a = Object.assign({ 'data-testid': testid, 'data-value': raw }, attrs || {});
    return h(tag, a, shown);
  }

  // Replaces a container's content, keeping keyboard focus on the element
  // with the same id when it was inside.
  function replaceContent(container, nodes) {
    var active = document.activeElement;
    var focusId = active && active.id && container.contains(active) ? active.id : '';
    container.replaceChildren();
    append(container, nodes);
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function safeId(s) { return String(s).replace(/[^A-Za-z0-9_-]/g, '_'); }

  function sectionError(sectionId, error) {
    var box = document.querySelector('#' + sectionId + ' .section-error');
    if (!box) return;
    box.hidden = !error;
    box.textContent = error ? 'These figures could not be loaded (' + error.message + '). ' +
      'They will be tried again shortly.' : '';
  }

  // ---------------------------------------------------------------- the API

  function queryString(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== '' && v !== null && v !== undefined && v !== 0) q.set(k, v);
    });
    var s = q.toString();
    return s ? '?' + s : '';
  }

  function apiGet(path, params) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    return fetch(path + queryString(params || {}), {
      signal: ctl.signal, cache: 'no-store', headers: { Accept: 'application/json' }
    }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status + ' from ' + path);
      return r.json();
    }).catch(function (e) {
      if (e.name === 'AbortError') throw new Error('no answer from ' + path + ' in ' + FETCH_TIMEOUT_MS / 1000 + ' s');
      throw e;
    }).finally(function () {
      clearTimeout(timer);
    });
  }

  // ---------------------------------------------------------------- charts and tables

  function chartsAvailable() { return typeof window.Chart === 'function'; }

  function setupChartDefaults() {
    if (!chartsAvailable()) return;
    var d = window.Chart.defaults;
    d.font.family = getComputedStyle(document.body).fontFamily;
    d.font.size = 12;
    d.color = '#1f2d3a';
    d.animation = false;
    d.maintainAspectRatio = false;
    d.borderColor = '#dde3ea';
  }

  function destroyChart(id) {
    var c = state.charts.get(id);
    if (c) { c.destroy(); state.charts.delete(id); }
  }

  // A bar chart over a table. spec: {id, labels, datasets: [{label, data,
  // color}], horizontal, stacked, axis: 'usd'|'count', description}.
  function barChart(spec) {
    destroyChart(spec.id);
    var perRow = spec.stacked ? 30 : Math.max(30, 10 * spec.datasets.length + 8);
    var height = spec.horizontal ? Math.max(160, 70 + perRow * spec.labels.length) : 300;
    var canvas = h('canvas', {
      id: spec.id + '-canvas', role: 'img', 'data-table': spec.id + '-table',
      'aria-label': spec.description + ' The table ' + (spec.tableBelow ? 'below' : 'with it') + ' gives the figures.'
    }, h('p', null, spec.description + ' See the table for the figures.'));
    var box = h('div', { class: 'chart-box', style: 'height:' + height + 'px' }, canvas);
    if (!chartsAvailable()) {
      box.replaceChildren(h('p', { class: 'note' }, 'The chart could not be drawn; the table gives the figures.'));
      box.style.height = 'auto';
    }
    return { box: box, draw: function () { drawChart(spec, canvas); } };
  }

  function drawChart(spec, canvas) {
    if (!chartsAvailable() || !canvas.isConnected) return;
    var valueAxis = spec.horizontal ? 'x' : 'y';
    var format = spec.axis === 'usd' ? function (v) { return usdFormat.format(v); } : function (v) { return countFormat.format(v); };
    var scales = {};
    scales[valueAxis] = {
      stacked: !!spec.stacked, beginAtZero: true,
      ticks: { callback: spec.axis === 'usd' ? function (v) { return usdAxisFormat.format(v); } : undefined, precision: 0 },
      grid: { color: '#e4e9ef' }
    };
    scales[spec.horizontal ? 'y' : 'x'] = {
      stacked: !!spec.stacked, grid: { display: false },
      // Month labels ("Nov 2026") on two lines, so they need no rotation.
      ticks: spec.horizontal ? {} : { maxRotation: 0, autoSkip: true, callback: function (v) {
        return String(this.getLabelForValue(v)).split(' ');
      } }
    };
    var chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d) {
          return { label: d.label, data: d.data, backgroundColor: d.color, borderColor: d.color, borderWidth: 0,
            maxBarThickness: spec.stacked ? 22 : 14 };
        })
      },
      options: {
        indexAxis: spec.horizontal ? 'y' : 'x',
        responsive: true,
        scales: scales,
        plugins: {
          legend: { position: 'top', align: 'start', labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + format(ctx.raw); } } }
        }
      }
    });
    state.charts.set(spec.id, chart);
  }

  // A table for a chart, with a button that hides it from sight but keeps it
  // in the DOM (screen readers still read it; print shows it).
  function tableFigure(id, table, shownByDefault) {
    // Without Chart.js the table is all there is: shown unless hidden by hand.
    var shown = state.tableShown.has(id) ? state.tableShown.get(id) : shownByDefault || !chartsAvailable();
    var wrap = h('div', { class: 'table-wrap' + (shown ? '' : ' table-collapsed'), id: id + '-table-wrap' }, table);
    var button = h('button', {
      type: 'button', class: 'toggle no-print', id: id + '-toggle', 'aria-controls': id + '-table-wrap',
      'aria-pressed': String(shown)
    }, shown ? 'Hide the table' : 'Show the table');
    button.addEventListener('click', function () {
      var now = button.getAttribute('aria-pressed') !== 'true';
      state.tableShown.set(id, now);
      button.setAttribute('aria-pressed', String(now));
      button.textContent = now ? 'Hide the table' : 'Show the table';
      wrap.classList.toggle('table-collapsed', !now);
    });
    return { wrap: wrap, button: button };
  }

  // <table> with a caption and a header row: columns [{text, series, num, cls}].
  function dataTable(id, caption, columns, rows, scale) {
    var head = h('tr', null, columns.map(function (c, i) {
      return h('th', { scope: 'col', class: (c.num ? 'num ' : '') + (c.cls || ''), 'data-series': c.series }, c.text);
    }));
    return h('table', { id: id, class: 'data', 'data-chart-scale': scale || null },
      h('caption', null, caption), h('thead', null, head), h('tbody', null, rows));
  }

  function emptyNote(textShown) { return h('p', { class: 'empty' }, textShown); }

  function figureBlock(id, title, parts) {
    return h('figure', { class: 'figure', id: id, 'aria-labelledby': id + '-title' },
      h('figcaption', null, h('h3', { id: id + '-title' }, title)), parts);
  }

  // ---------------------------------------------------------------- freshness

  function renderFreshness(f) {
    var asOf = text(f, 'asOf');
    var lag = int64(f, 'eventLagMs');
    var applied = int64(f, 'eventsApplied');
    var reachable = field(f, 'sourcesReachable') === true;
    var parts = [];
    if (isSetTime(asOf)) {
      parts.push('As of ', fig('time', 'freshness-as-of', asOf, formatTime(asOf), { datetime: asOf }));
    } else {
      parts.push(fig('span', 'freshness-as-of', asOf, 'No change applied yet'));
    }
    parts.push(', lag ', fig('span', 'freshness-lag-ms', lag, lag === '-1' ? 'none yet' : formatCount(lag)),
      lag === '-1' ? '' : ' ms');
    parts.push(h('span', { class: 'freshness-extra' }, ' · ',
      fig('span', 'freshness-events-applied', applied, formatCount(applied)), ' ', plural(applied, 'change', 'changes'), ' applied'));
    parts.push(fig('span', 'freshness-sources-reachable', String(reachable),
      reachable ? '' : ' · Sources unreachable: the figures may be out of date', { class: reachable ? '' : 'warn' }));
    parts.push(h('span', { class: 'live-label', id: 'live-label' }, liveLabel()));
    replaceContent(document.getElementById('freshness-text'), parts);
  }

  // ---------------------------------------------------------------- overview

  function statTile(title, testid, raw, shown, details, extraClass) {
    return h('div', { class: 'tile ' + (extraClass || '') },
      h('h3', { class: 'tile-title' }, title),
      fig('p', testid, raw, shown, { class: 'tile-value' }),
      details);
  }

  function entitiesTile(o) {
    var row = function (label, name, testid) {
      var raw = int64(o, name);
      return h('div', null, h('dt', null, label), fig('dd', testid, raw, formatCount(raw)));
    };
    return statTile('Entities taking part', 'overview-entities', int64(o, 'entities'), formatCount(int64(o, 'entities')),
      h('dl', { class: 'tile-list' },
        row('Members', 'members', 'overview-members'),
        row('Observers', 'observers', 'overview-observers'),
        row('UN entities', 'unEntities', 'overview-un-entities'),
        row('Non-UN', 'nonUnEntities', 'overview-non-un-entities')));
  }

  function projectsTile(o) {
    var statuses = list(o, 'projectsByStatus');
    var max = statuses.reduce(function (m, c) { return Math.max(m, Number(int64(c, 'count'))); }, 1);
    var rows = statuses.map(function (c) {
      var raw = int64(c, 'count');
      var key = text(c, 'key');
      return h('tr', null,
        h('th', { scope: 'row' }, text(c, 'label') || key),
        fig('td', 'overview-status-' + key, raw, formatCount(raw), { class: 'num' }),
        h('td', { class: 'bar-cell', 'aria-hidden': 'true' },
          h('span', { class: 'mini-bar', style: 'width:' + (100 * Number(raw) / max).toFixed(1) + '%' })));
    });
    var table = h('table', { class: 'status-table' },
      h('caption', { class: 'visually-hidden' }, 'Projects by IATI activity status'),
      h('thead', { class: 'visually-hidden' }, h('tr', null, h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Projects'), h('td', null))),
      h('tbody', null, rows));
    return statTile('Projects', 'overview-projects', int64(o, 'projects'), formatCount(int64(o, 'projects')),
      statuses.length ? table : null, 'tile-projects');
  }

  function catalyticTile(o) {
    var usd = msg(msg(o, 'money'), 'usd');
    var share = double(o, 'catalyticShare');
    return statTile('UNOCT catalytic share', 'overview-catalytic-share', doubleRaw(o, 'catalyticShare'), formatPercent(share),
      h('p', { class: 'tile-note' },
        fig('span', 'overview-catalytic-usd', int64(usd, 'catalyticMinor'), formatUsd(int64(usd, 'catalyticMinor'))),
        ' of ', formatUsd(int64(usd, 'committedMinor')), ' committed, US dollar equivalents'));
  }

  function moneyCard(o) {
    var money = msg(o, 'money');
    var usd = msg(money, 'usd');
    var complete = flag(money, 'usdComplete');
    var stats = STAGES.map(function (s) {
      var raw = int64(usd, s.field);
      return h('div', { class: 'money-stat' },
        h('dt', null, h('span', { class: 'swatch', style: 'background:' + s.color, 'aria-hidden': 'true' }), s.label),
        fig('dd', 'overview-' + s.key + '-usd', raw, formatUsd(raw)));
    });
    var extra = [
      ['Budget', 'overview-budget-usd', int64(usd, 'budgetMinor'), formatUsd(int64(usd, 'budgetMinor'))],
      ['Funding gap', 'overview-funding-gap-usd', int64(usd, 'fundingGapMinor'), formatUsd(int64(usd, 'fundingGapMinor'))],
      ['Delivery rate', 'overview-delivery-rate', doubleRaw(usd, 'deliveryRate'), formatPercent(double(usd, 'deliveryRate'))]
    ].map(function (x) {
      return h('div', { class: 'money-stat money-stat-secondary' }, h('dt', null, x[0]), fig('dd', x[1], x[2], x[3]));
    });
    var completeness = fig('p', 'overview-usd-complete', String(complete),
      complete ? 'Every amount had an exchange rate.'
        : 'Incomplete: amounts in currencies without an exchange rate are left out of the US dollar figures; the table by currency has them all.',
      { class: complete ? 'note' : 'note warn-box' });
    var currencies = currencyFigure(list(money, 'byCurrency'), !complete);
    return h('div', { class: 'money-card' },
      h('h3', null, 'Money, in US dollar equivalents'),
      h('dl', { class: 'money-stats' }, stats),
      h('dl', { class: 'money-stats money-stats-secondary' }, extra),
      completeness, currencies);
  }

  function currencyFigure(byCurrency, showByDefault) {
    if (!byCurrency.length) return null;
    var columns = [{ text: 'Currency' }].concat(STAGES.map(function (s) { return { text: s.label, num: true }; }),
      [{ text: 'Budget', num: true }, { text: 'Funding gap', num: true }]);
    var rows = byCurrency.map(function (st) {
      var cur = text(st, 'currency');
      var cell = function (name, key) {
        var raw = int64(st, name);
        return fig('td', 'overview-currency-' + cur + '-' + key, raw, formatMajor(raw, cur), { class: 'num' });
      };
      return h('tr', null, h('th', { scope: 'row' }, cur),
        STAGES.map(function (s) { return cell(s.field, s.key); }),
        cell('budgetMinor', 'budget'), cell('fundingGapMinor', 'funding-gap'));
    });
    var table = dataTable('overview-currency-table', 'Money in the currencies it was recorded in (whole units)', columns, rows);
    var t = tableFigure('overview-currency', table, showByDefault);
    return h('div', { class: 'currency-block' }, t.button, t.wrap);
  }

  function renderOverview(o) {
    state.data.overview = o;
    state.overviewStamp = text(msg(o, 'freshness'), 'asOf') + '/' + int64(msg(o, 'freshness'), 'eventsApplied');
    renderFreshness(msg(o, 'freshness'));
    replaceContent(document.getElementById('overview-tiles'), [
      entitiesTile(o),
      statTile('Open working groups', 'overview-working-groups', int64(o, 'workingGroups'),
        formatCount(int64(o, 'workingGroups')), h('p', { class: 'tile-note' }, 'Inter-agency working groups of the Compact')),
      projectsTile(o),
      catalyticTile(o)
    ]);
    replaceContent(document.getElementById('overview-money'), moneyCard(o));
  }

  // ---------------------------------------------------------------- funding

  function groupLabel(id) {
    var g = state.groups.find(function (x) { return text(x, 'id') === id; });
    return g ? { code: text(g, 'code'), title: text(g, 'title') } : null;
  }

  function fundingRowHeader(dim, row) {
    var key = text(row, 'key');
    if (dim === 'pillar') {
      var p = pillarInfo(key);
      return { chart: 'Pillar ' + p.roman, main: 'Pillar ' + p.roman, sub: p.name };
    }
    var label = text(row, 'label') || key;
    var g = dim === 'group' ? groupLabel(key) : null;
    return { chart: label, main: label, sub: g && g.title !== label ? g.title : '' };
  }

  function fundingRow(dim, row, header) {
    var key = text(row, 'key');
    var money = msg(row, 'money');
    var usd = msg(money, 'usd');
    var complete = flag(money, 'usdComplete');
    var id = 'funding-row-' + key + '-';
    return h('tr', { 'data-label': header.chart },
      h('th', { scope: 'row' },
        h('span', { class: 'row-main' }, header.main, complete ? '' : incompleteMark()),
        header.sub ? h('span', { class: 'row-sub' }, header.sub) : null),
      fig('td', id + 'projects', int64(row, 'projects'), formatCount(int64(row, 'projects')), { class: 'num' }),
      STAGES.map(function (s) {
        var raw = int64(usd, s.field);
        return fig('td', id + s.key, raw, formatDollars(raw), { class: 'num', 'data-series': s.label });
      }),
      fig('td', id + 'budget', int64(usd, 'budgetMinor'), formatDollars(int64(usd, 'budgetMinor')), { class: 'num' }),
      fig('td', id + 'funding-gap', int64(usd, 'fundingGapMinor'), formatDollars(int64(usd, 'fundingGapMinor')), { class: 'num' }),
      fig('td', id + 'delivery-rate', doubleRaw(usd, 'deliveryRate'), formatPercent(double(usd, 'deliveryRate')), { class: 'num' }),
      fig('td', id + 'usd-complete', String(complete), complete ? 'Yes' : 'No', { class: 'visually-hidden' }));
  }

  function incompleteMark() {
    return h('span', { class: 'flag' }, h('span', { 'aria-hidden': 'true' }, ' *'),
      h('span', { class: 'visually-hidden' }, ' (US dollar figures incomplete)'));
  }

  function renderFunding(dim, answer) {
    var rows = list(answer, 'rows');
    var id = 'funding-' + dim;
    var title = dim === 'group' ? 'By working group' : 'By Strategy pillar';
    var container = document.getElementById(id);
    var count = fig('p', id + '-rows', String(rows.length), formatCount(rows.length) + ' ' +
      plural(rows.length, dim === 'group' ? 'working group' : 'pillar', dim === 'group' ? 'working groups' : 'pillars') + ' with projects',
      { class: 'figure-meta' });
    if (!rows.length) {
      destroyChart(id);
      replaceContent(container, figureBlock(id + '-figure', title, [count, emptyNote('No funding recorded for these filters.')]));
      return;
    }
    var headers = rows.map(function (r) { return fundingRowHeader(dim, r); });
    var chart = barChart({
      id: id, horizontal: true, axis: 'usd', tableBelow: true,
      labels: headers.map(function (x) { return x.chart; }),
      datasets: STAGES.map(function (s) {
        return { label: s.label, color: s.color, data: rows.map(function (r) {
          return Number(int64(msg(msg(r, 'money'), 'usd'), s.field)) / 100;
        }) };
      }),
      description: 'Bar chart: money pledged, committed, received, disbursed and spent ' +
        (dim === 'group' ? 'by working group' : 'by Strategy pillar') + ', in US dollar equivalents.'
    });
    var columns = [{ text: dim === 'group' ? 'Working group' : 'Pillar' }, { text: 'Projects', num: true }]
      .concat(STAGES.map(function (s) { return { text: s.label, series: s.label, num: true }; }),
        [{ text: 'Budget', num: true }, { text: 'Funding gap', num: true }, { text: 'Delivery rate', num: true },
          { text: 'US$ complete', cls: 'visually-hidden' }]);
    var table = dataTable(id + '-table', 'Funding ' + (dim === 'group' ? 'by working group' : 'by Strategy pillar') +
      ', US dollar equivalents (whole dollars)', columns, rows.map(function (r, i) { return fundingRow(dim, r, headers[i]); }), 100);
    var t = tableFigure(id, table, true);
    var incomplete = rows.some(function (r) { return !flag(msg(r, 'money'), 'usdComplete'); });
    replaceContent(container, figureBlock(id + '-figure', title, [
      h('div', { class: 'figure-head' }, count, t.button), chart.box, t.wrap,
      incomplete ? h('p', { class: 'note' }, '* Amounts in a currency without an exchange rate are left out of this row\'s US dollar figures.') : null
    ]));
    chart.draw();
  }

  // ---------------------------------------------------------------- participation

  function renderParticipation(p) {
    var entities = list(p, 'entities');
    var groups = list(p, 'groups');
    var cells = list(p, 'cells');
    var roleOf = new Map();
    cells.forEach(function (c) {
      roleOf.set(text(c, 'entityId') + '\u0000' + text(c, 'workingGroupId'), enumName(c, 'role', ROLE_NAMES));
    });
    var counts = {};
    Object.keys(ROLES).forEach(function (r) { counts[r] = 0; });
    roleOf.forEach(function (r) { if (r in counts) counts[r]++; });
    var summary = h('p', { class: 'figure-meta' },
      fig('span', 'participation-entities', String(entities.length), formatCount(entities.length)), ' entities, ',
      fig('span', 'participation-groups', String(groups.length), formatCount(groups.length)), ' working groups, ',
      fig('span', 'participation-cells', String(cells.length), formatCount(cells.length)), ' places: ',
      Object.keys(ROLES).map(function (r, i) {
        return [i ? ', ' : '', fig('span', 'participation-' + ROLES[r].cls, String(counts[r]), formatCount(counts[r])),
          ' ', ROLES[r].label.toLowerCase() + (counts[r] === 1 ? '' : 's')];
      }));
    if (!entities.length || !groups.length) {
      replaceContent(document.getElementById('participation-body'), [summary, emptyNote('No participation for these filters.')]);
      return;
    }
    var legend = h('ul', { class: 'legend', 'aria-label': 'Roles' }, Object.keys(ROLES).map(function (r) {
      return h('li', null, h('span', { class: 'legend-chip ' + ROLES[r].cls }, ROLES[r].label));
    }));
    var head = h('tr', null, h('th', { scope: 'col' }, 'Entity'),
      groups.map(function (g) {
        return h('th', { scope: 'col', class: 'group-col' }, h('abbr', { title: text(g, 'title') }, text(g, 'code') || text(g, 'id')));
      }),
      h('th', { scope: 'col', class: 'num' }, 'Groups'), h('th', { scope: 'col', class: 'num' }, 'Projects'));
    var body = entities.map(function (e) {
      var eid = text(e, 'entityId');
      return h('tr', null, h('th', { scope: 'row' }, text(e, 'acronym') || eid),
        groups.map(function (g) {
          var gid = text(g, 'id');
          var role = roleOf.get(eid + '\u0000' + gid);
          if (!role) return h('td', { class: 'role-none' }, h('span', { class: 'visually-hidden' }, 'none'));
          var info = ROLES[role] || { label: role, cls: '' };
          return fig('td', 'participation-cell-' + eid + '-' + gid, role, info.label, { class: 'role ' + info.cls });
        }),
        fig('td', 'participation-entity-' + eid + '-groups', int64(e, 'groups'), formatCount(int64(e, 'groups')), { class: 'num' }),
        fig('td', 'participation-entity-' + eid + '-projects', int64(e, 'projects'), formatCount(int64(e, 'projects')), { class: 'num' }));
    });
    var table = h('table', { class: 'data heatmap', id: 'participation-table' },
      h('caption', null, 'Role of each entity in each working group'),
      h('thead', null, head), h('tbody', null, body));
    var key = h('dl', { class: 'group-key' }, groups.map(function (g) {
      return h('div', null, h('dt', null, text(g, 'code') || text(g, 'id')), h('dd', null, text(g, 'title')));
    }));
    replaceContent(document.getElementById('participation-body'), [
      summary, legend, h('div', { class: 'table-wrap' }, table),
      h('h3', { class: 'key-title' }, 'Working groups'), key
    ]);
  }

  // ---------------------------------------------------------------- coverage

  function coverageLevel(projects, max) {
    var n = Number(projects);
    if (!n || !max) return 0;
    return Math.min(4, Math.max(1, Math.ceil(4 * n / max)));
  }

  function coverageCell(prefix, cell, max) {
    if (!cell) return h('td', { class: 'cov cov-0' }, h('span', { 'aria-hidden': 'true' }, '–'), h('span', { class: 'visually-hidden' }, 'none'));
    var projects = int64(cell, 'projects');
    var usd = int64(cell, 'committedUsdMinor');
    return h('td', { class: 'cov cov-' + coverageLevel(projects, max) }, h('div', { class: 'cov-inner' },
      fig('span', prefix + '-projects', projects, formatCount(projects) + ' ' + plural(projects, 'project', 'projects'), { class: 'cov-projects' }),
      fig('span', prefix + '-committed-usd', usd, formatUsd(usd), { class: 'cov-usd' })));
  }

  function renderCoverage(c) {
    var cells = list(c, 'cells');
    var global = list(c, 'global');
    var countries = [];
    var byKey = new Map();
    cells.forEach(function (x) {
      var cc = text(x, 'country');
      if (countries.indexOf(cc) < 0) countries.push(cc);
      byKey.set(cc + '/' + text(x, 'pillar'), x);
    });
    var globalBy = new Map(global.map(function (x) { return [text(x, 'pillar'), x]; }));
    var max = cells.concat(global).reduce(function (m, x) { return Math.max(m, Number(int64(x, 'projects'))); }, 0);
    var summary = h('p', { class: 'figure-meta' },
      fig('span', 'coverage-countries', String(countries.length), formatCount(countries.length)), ' ',
      plural(countries.length, 'country', 'countries'), ' with projects; ',
      fig('span', 'coverage-global-cells', String(global.length), formatCount(global.length)), ' ',
      plural(global.length, 'pillar', 'pillars'), ' with global projects.');
    if (!cells.length && !global.length) {
      replaceContent(document.getElementById('coverage-body'), [summary, emptyNote('No projects for these filters.')]);
      return;
    }
    var head = h('tr', null, h('th', { scope: 'col' }, 'Country'), PILLARS.map(function (p) {
      return h('th', { scope: 'col', class: 'cov-col' }, h('abbr', { title: p.name }, 'Pillar ' + p.roman));
    }));
    var globalBody = h('tbody', { class: 'cov-global' },
      h('tr', null, h('th', { scope: 'row' }, 'Global projects', ' ', h('span', { class: 'cc' }, 'no single country')),
        PILLARS.map(function (p) { return coverageCell('coverage-global-' + p.n, globalBy.get(String(p.n)), max); })));
    countries.sort(function (a, b) { return countryName(a).localeCompare(countryName(b), LOCALE); });
    var countryBody = h('tbody', null, countries.map(function (cc) {
      return h('tr', null, h('th', { scope: 'row' }, countryName(cc), ' ', h('span', { class: 'cc' }, cc)),
        PILLARS.map(function (p) { return coverageCell('coverage-cell-' + cc + '-' + p.n, byKey.get(cc + '/' + p.n), max); }));
    }));
    var table = h('table', { class: 'data coverage', id: 'coverage-table' },
      h('caption', null, 'Projects and US dollar equivalents committed, by country and Strategy pillar. Darker cells: more projects.'),
      h('thead', null, head), globalBody, countryBody);
    replaceContent(document.getElementById('coverage-body'), [summary, h('div', { class: 'table-wrap' }, table)]);
  }

  // ---------------------------------------------------------------- duplication alerts

  function alertId(a) { return 'alert-' + safeId(text(a, 'projectId')) + '-' + safeId(text(a, 'otherProjectId')); }

  function projectLink(id, title) {
    return h('a', { href: '#project-' + safeId(id) }, title || id);
  }

  function renderAlerts(answer) {
    state.data.alerts = answer;
    var alerts = list(answer, 'alerts');
    var likely = alerts.filter(function (a) { return flag(a, 'likelyDuplicate'); }).length;
    var summary = h('p', { class: 'figure-meta' },
      fig('span', 'alerts-count', String(alerts.length), formatCount(alerts.length)), ' ',
      plural(alerts.length, 'pair', 'pairs'), ' of projects that may overlap, ',
      fig('span', 'alerts-likely-count', String(likely), formatCount(likely)), ' of them ',
      plural(likely, 'a likely duplicate', 'likely duplicates'), '.');
    if (!alerts.length) {
      replaceContent(document.getElementById('alerts-body'), [summary, emptyNote('No possible duplication found for these filters.')]);
      renderProjects();
      return;
    }
    var rows = alerts.map(function (a) {
      var id = alertId(a);
      var score = double(a, 'score');
      var isLikely = flag(a, 'likelyDuplicate');
      return h('tr', { id: id },
        h('td', { class: 'score-cell' },
          fig('span', id + '-score', doubleRaw(a, 'score'), score.toFixed(2), { class: 'score' }),
          h('span', { class: 'meter', 'aria-hidden': 'true' },
            h('span', { style: 'width:' + Math.round(100 * Math.min(1, Math.max(0, score))) + '%' })),
          fig('span', id + '-likely', String(isLikely), isLikely ? 'Likely duplicate' : '', { class: isLikely ? 'badge badge-warn' : '' })),
        h('td', null, projectLink(text(a, 'projectId'), text(a, 'projectTitle'))),
        h('td', null, projectLink(text(a, 'otherProjectId'), text(a, 'otherProjectTitle'))),
        h('td', null, h('ul', { class: 'reasons' }, list(a, 'reasons').map(function (r) { return h('li', null, String(r)); }))),
        h('td', { class: 'nowrap' }, formatDate(text(a, 'foundTime'))));
    });
    var table = h('table', { class: 'data alerts', id: 'alerts-table' },
      h('caption', null, 'Possible duplication, strongest first. The project names lead to their monitoring rows.'),
      h('thead', null, h('tr', null, ['Score', 'Project', 'May overlap with', 'Why', 'Found'].map(function (t) {
        return h('th', { scope: 'col' }, t);
      }))), h('tbody', null, rows));
    replaceContent(document.getElementById('alerts-body'), [summary, h('div', { class: 'table-wrap' }, table)]);
    renderProjects();
  }

  // ---------------------------------------------------------------- monitoring

  function trackCells(prefix, counts, withSeries) {
    return TRACK.map(function (t) {
      var raw = int64(counts, t.field);
      return fig('td', prefix + t.key, raw, formatCount(raw), { class: 'num', 'data-series': withSeries ? t.label : null });
    });
  }

  function trackStatus(counts) {
    if (Number(int64(counts, 'offTrack')) > 0) return { label: 'Off track', cls: 'badge badge-off' };
    if (Number(int64(counts, 'onTrack')) > 0) return { label: 'On track', cls: 'badge badge-on' };
    return { label: 'No data', cls: 'badge badge-none' };
  }

  function monitoringTotals(total) {
    return h('dl', { class: 'track-totals' }, TRACK.map(function (t) {
      var raw = int64(total, t.field);
      return h('div', { class: 'track-total' },
        h('dt', null, h('span', { class: 'swatch', style: 'background:' + t.color, 'aria-hidden': 'true' }), t.label),
        fig('dd', 'monitoring-total-' + t.key, raw, formatCount(raw)));
    }));
  }

  function monitoringByGroup(byGroup) {
    var id = 'monitoring-group';
    if (!byGroup.length) {
      destroyChart(id);
      return { node: figureBlock(id + '-figure', 'By working group', emptyNote('No indicators for these filters.')), draw: null };
    }
    var labels = byGroup.map(function (g) { return text(g, 'label') || text(g, 'key'); });
    var chart = barChart({
      id: id, horizontal: true, stacked: true, axis: 'count', tableBelow: true, labels: labels,
      datasets: TRACK.map(function (t) {
        return { label: t.label, color: t.color, data: byGroup.map(function (g) { return Number(int64(g, t.field)); }) };
      }),
      description: 'Stacked bar chart: result indicators on track, off track and without data, by working group.'
    });
    var rows = byGroup.map(function (g, i) {
      var key = text(g, 'key');
      var info = groupLabel(key);
      var st = trackStatus(g);
      return h('tr', { 'data-label': labels[i] },
        h('th', { scope: 'row' }, h('span', { class: 'row-main' }, labels[i]),
          info && info.title ? h('span', { class: 'row-sub' }, info.title) : null),
        trackCells('monitoring-group-' + key + '-', g, true),
        h('td', null, h('span', { class: st.cls }, st.label)));
    });
    var table = dataTable(id + '-table', 'Result indicators by working group',
      [{ text: 'Working group' }].concat(TRACK.map(function (t) { return { text: t.label, series: t.label, num: true }; }), [{ text: 'Status' }]),
      rows, 1);
    var t = tableFigure(id, table, true);
    var head = h('div', { class: 'figure-head' }, h('span'), t.button);
    return { node: figureBlock(id + '-figure', 'By working group', [head, chart.box, t.wrap]), draw: chart.draw };
  }

  // Projects with indicators, and every project an alert names, so that the
  // alerts' #project-<id> links always lead somewhere.
  function renderProjects() {
    var container = document.getElementById('monitoring-projects');
    if (!container) return;
    var m = state.data.monitoring || {};
    var alerts = list(state.data.alerts, 'alerts');
    var rows = list(m, 'byProject').map(function (p) {
      return { id: text(p, 'key'), title: text(p, 'label'), counts: p, alerts: [] };
    });
    var byId = new Map(rows.map(function (r) { return [r.id, r]; }));
    alerts.forEach(function (a) {
      [['projectId', 'projectTitle'], ['otherProjectId', 'otherProjectTitle']].forEach(function (f) {
        var pid = text(a, f[0]);
        var row = byId.get(pid);
        if (!row) { row = { id: pid, title: text(a, f[1]), counts: null, alerts: [] }; byId.set(pid, row); rows.push(row); }
        row.alerts.push(a);
      });
    });
    if (!rows.length) { replaceContent(container, emptyNote('No project has indicators for these filters.')); return; }
    var body = rows.map(function (r) {
      var st = r.counts ? trackStatus(r.counts) : null;
      return h('tr', { id: 'project-' + safeId(r.id) },
        h('th', { scope: 'row' }, r.title || r.id),
        r.counts ? trackCells('monitoring-project-' + r.id + '-', r.counts, false)
          : h('td', { colspan: 3, class: 'muted' }, 'No result indicators'),
        h('td', null, st ? h('span', { class: st.cls }, st.label) : '–'),
        h('td', null, r.alerts.length ? r.alerts.map(function (a, i) {
          var other = text(a, 'projectId') === r.id ? text(a, 'otherProjectTitle') : text(a, 'projectTitle');
          return [i ? h('br') : null, h('a', { href: '#' + alertId(a) }, 'Score ' + double(a, 'score').toFixed(2) + ' with ' + other)];
        }) : '–'));
    });
    var table = h('table', { class: 'data projects', id: 'monitoring-projects-table' },
      h('caption', null, 'Projects: result indicators, off track first, then the projects named in possible duplication'),
      h('thead', null, h('tr', null, ['Project'].concat(TRACK.map(function (t) { return t.label; }), ['Status', 'Possible duplication'])
        .map(function (t, i) { return h('th', { scope: 'col', class: i >= 1 && i <= 3 ? 'num' : '' }, t); }))),
      h('tbody', null, body));
    replaceContent(container, h('div', { class: 'table-wrap' }, table));
  }

  function renderMonitoring(m) {
    state.data.monitoring = m;
    var byGroup = monitoringByGroup(list(m, 'byGroup'));
    replaceContent(document.getElementById('monitoring-body'), [
      monitoringTotals(msg(m, 'total')),
      byGroup.node,
      figureBlock('monitoring-projects-figure', 'By project', h('div', { id: 'monitoring-projects' }))
    ]);
    if (byGroup.draw) byGroup.draw();
    renderProjects();
  }

  // ---------------------------------------------------------------- activity

  function areaOf(kind) {
    var prefix = String(kind).split('.')[0];
    return AREAS[prefix] || (prefix.charAt(0).toUpperCase() + prefix.slice(1));
  }

  function kindLabel(kind) {
    var rest = String(kind).split('.').slice(1).join('.') || String(kind);
    return rest.replace(/_/g, ' ');
  }

  function renderActivity(a) {
    var months = list(a, 'months');
    var areas = [];
    months.forEach(function (m) {
      list(m, 'byKind').forEach(function (c) {
        var area = areaOf(text(c, 'key'));
        if (areas.indexOf(area) < 0) areas.push(area);
      });
    });
    var known = Object.keys(AREAS).map(function (k) { return AREAS[k]; });
    areas.sort(function (x, y) {
      var i = known.indexOf(x), j = known.indexOf(y);
      return (i < 0 ? 99 : i) - (j < 0 ? 99 : j) || x.localeCompare(y);
    });
    var perMonth = months.map(function (m) {
      var sums = {}, total = 0n;
      areas.forEach(function (ar) { sums[ar] = 0n; });
      list(m, 'byKind').forEach(function (c) {
        var n = big(int64(c, 'count'));
        sums[areaOf(text(c, 'key'))] += n;
        total += n;
      });
      return { month: text(m, 'month'), sums: sums, total: total, kinds: list(m, 'byKind') };
    });
    var grand = perMonth.reduce(function (s, m) { return s + m.total; }, 0n);
    var summary = h('p', { class: 'figure-meta' },
      fig('span', 'activity-total', grand.toString(), formatCount(grand.toString())), ' changes over ',
      fig('span', 'activity-months', String(months.length), formatCount(months.length)), ' months.');
    var id = 'activity';
    if (!months.length) {
      destroyChart(id);
      replaceContent(document.getElementById('activity-body'), [summary, emptyNote('No activity recorded.')]);
      return;
    }
    var labels = perMonth.map(function (m) { return formatMonth(m.month); });
    var chart = barChart({
      id: id, stacked: true, axis: 'count', labels: labels, tableBelow: true,
      datasets: areas.map(function (ar, i) {
        return { label: ar, color: AREA_COLORS[i % AREA_COLORS.length],
          data: perMonth.map(function (m) { return Number(m.sums[ar]); }) };
      }),
      description: 'Stacked bar chart: changes recorded per month, by service area, over the last ' + months.length + ' months.'
    });
    var rows = perMonth.map(function (m, i) {
      var mid = 'activity-month-' + m.month + '-';
      var kinds = m.kinds.filter(function (c) { return int64(c, 'count') !== '0'; });
      return h('tr', { 'data-label': labels[i] },
        h('th', { scope: 'row', class: 'nowrap' }, labels[i]),
        areas.map(function (ar) {
          return fig('td', mid + 'area-' + safeId(ar.toLowerCase()), m.sums[ar].toString(), formatCount(m.sums[ar].toString()),
            { class: 'num', 'data-series': ar });
        }),
        fig('td', mid + 'total', m.total.toString(), formatCount(m.total.toString()), { class: 'num strong' }),
        h('td', { class: 'kinds' }, kinds.length ? kinds.map(function (c, j) {
          var raw = int64(c, 'count');
          return [j ? h('span', { class: 'sep', 'aria-hidden': 'true' }, ' · ') : null,
            h('span', { class: 'kind' }, areaOf(text(c, 'key')) + ': ' + kindLabel(text(c, 'key')) + ' ',
              fig('span', mid + text(c, 'key'), raw, formatCount(raw), { class: 'strong' }))];
        }) : h('span', { class: 'muted' }, 'none')));
    });
    var columns = [{ text: 'Month' }].concat(areas.map(function (ar) { return { text: ar, series: ar, num: true }; }),
      [{ text: 'Total', num: true }, { text: 'By kind' }]);
    var table = dataTable(id + '-table', 'Changes per month, by service area and by kind', columns, rows, 1);
    var t = tableFigure(id, table, false);
    replaceContent(document.getElementById('activity-body'), [
      h('div', { class: 'figure-head' }, summary, t.button), chart.box, t.wrap
    ]);
    chart.draw();
  }

  // ---------------------------------------------------------------- filters

  function filterParams() {
    return { year: state.filter.year, group: state.filter.group, pillar: state.filter.pillar };
  }

  function readFilterFromUrl() {
    var q = new URLSearchParams(location.search);
    var year = q.get('year') || '', group = q.get('group') || '', pillar = q.get('pillar') || '';
    state.filter = {
      year: /^\d{4}$/.test(year) ? year : '',
      group: group,
      pillar: /^[1-4]$/.test(pillar) ? pillar : ''
    };
  }

  function writeFilterToUrl() {
    history.replaceState(null, '', location.pathname + queryString(filterParams()) + location.hash);
  }

  function describeFilter() {
    var f = state.filter;
    var g = f.group ? groupLabel(f.group) : null;
    var parts = [
      f.year ? 'Year ' + f.year : 'All years',
      f.group ? 'working group ' + (g ? g.code : f.group) : 'all working groups',
      f.pillar ? 'pillar ' + pillarInfo(f.pillar).roman : 'all pillars'
    ];
    return parts.join(', ');
  }

  function setOptions(select, first, options, current) {
    var values = options.map(function (o) { return o.value; });
    if (current && values.indexOf(current) < 0) options = options.concat([{ value: current, text: current }]);
    select.replaceChildren(h('option', { value: '' }, first));
    options.forEach(function (o) { select.append(h('option', { value: o.value }, o.text)); });
    select.value = current || '';
  }

  function fillFilterOptions(years, groups) {
    var yearList = years.slice().sort(function (a, b) { return b - a; }).map(function (y) { return { value: String(y), text: String(y) }; });
    setOptions(document.getElementById('filter-year'), 'All years', yearList, state.filter.year);
    setOptions(document.getElementById('filter-group'), 'All working groups', groups.map(function (g) {
      var code = text(g, 'code'), title = text(g, 'title');
      return { value: text(g, 'id'), text: code && title ? code + ': ' + title : code || title || text(g, 'id') };
    }), state.filter.group);
    setOptions(document.getElementById('filter-pillar'), 'All pillars', PILLARS.map(function (p) {
      return { value: String(p.n), text: 'Pillar ' + p.roman + ': ' + p.name };
    }), state.filter.pillar);
  }

  // Years from 2018 to this year, and any year money was recorded in;
  // working groups from participation (unfiltered).
  function loadFilterOptions() {
    var thisYear = new Date().getUTCFullYear();
    var years = [];
    for (var y = FIRST_YEAR; y <= thisYear; y++) years.push(y);
    fillFilterOptions(years, state.groups);
    return Promise.all([
      apiGet('/api/funding', { by: 'year' }).catch(function () { return {}; }),
      apiGet('/api/participation').catch(function () { return {}; })
    ]).then(function (answers) {
      list(answers[0], 'rows').forEach(function (r) {
        var n = Number(text(r, 'key'));
        if (Number.isInteger(n) && n > 1900 && n < 2200 && years.indexOf(n) < 0) years.push(n);
      });
      var groups = list(answers[1], 'groups');
      if (groups.length) state.groups = groups;
      fillFilterOptions(years, state.groups);
    });
  }

  function onFilterSubmit(event) {
    event.preventDefault();
    state.filter = {
      year: document.getElementById('filter-year').value,
      group: document.getElementById('filter-group').value,
      pillar: document.getElementById('filter-pillar').value
    };
    writeFilterToUrl();
    document.getElementById('filters-status').textContent = 'Updating the figures…';
    connectEvents();
    refresh().then(function () {
      document.getElementById('filters-status').textContent = 'Showing: ' + describeFilter() + '.';
    });
  }

  function onFilterReset() {
    ['filter-year', 'filter-group', 'filter-pillar'].forEach(function (id) { document.getElementById(id).value = ''; });
    document.getElementById('filters').requestSubmit();
  }

  // ---------------------------------------------------------------- loading

  var SECTIONS = [
    { id: 'overview', load: function (f) { return apiGet('/api/overview', f); }, render: renderOverview },
    {
      id: 'funding',
      load: function (f) {
        return Promise.all([apiGet('/api/funding', Object.assign({ by: 'group' }, f)), apiGet('/api/funding', Object.assign({ by: 'pillar' }, f))]);
      },
      render: function (answers) {
        state.data.funding = answers;
        renderFunding('group', answers[0]);
        renderFunding('pillar', answers[1]);
      }
    },
    { id: 'participation', load: function (f) { return apiGet('/api/participation', f); }, render: renderParticipation },
    { id: 'coverage', load: function (f) { return apiGet('/api/coverage', f); }, render: renderCoverage },
    { id: 'alerts', load: function (f) { return apiGet('/api/alerts', f); }, render: renderAlerts },
    { id: 'monitoring', load: function (f) { return apiGet('/api/monitoring', f); }, render: renderMonitoring },
    { id: 'activity', load: function () { return apiGet('/api/activity'); }, render: renderActivity }
  ];

  function setPageState(value) {
    var root = document.documentElement;
    root.dataset.state = value;
    document.getElementById('main').setAttribute('aria-busy', String(value === 'loading'));
  }

  // Loads every section with the current filter; a later call supersedes an
  // earlier one still running. Resolves once the figures are all rendered.
  function loadSections() {
    var token = ++state.loadToken;
    var params = filterParams();
    var errors = [];
    setPageState('loading');
    return Promise.all(SECTIONS.map(function (s) {
      return s.load(params).then(function (data) {
        if (token !== state.loadToken) return;
        try {
          s.render(data);
          sectionError(s.id, null);
        } catch (e) {
          errors.push(s.id + ': ' + e.message);
          sectionError(s.id, e);
          if (window.console) console.error('rendering ' + s.id, e);
        }
      }, function (e) {
        if (token !== state.loadToken) return;
        errors.push(s.id + ': ' + e.message);
        sectionError(s.id, e);
      });
    })).then(function () {
      return token === state.loadToken ? errors : null;
    });
  }

  function finishLoad(errors) {
    if (errors === null) return;        // superseded
    var root = document.documentElement;
    document.getElementById('scope').textContent = describeFilter();
    document.getElementById('scope').dataset.value = queryString(filterParams()).slice(1);
    root.dataset.filter = queryString(filterParams()).slice(1);
    root.dataset.errors = String(errors.length);
    state.generation++;
    root.dataset.generation = String(state.generation);
    setPageState('ready');
    if (errors.length) scheduleQuietRefresh(RETRY_MS);
  }

  function refresh() {
    clearTimeout(state.quietTimer);
    state.quietTimer = 0;
    return loadSections().then(finishLoad);
  }

  // ---------------------------------------------------------------- live updates

  var liveStatus = 'connecting';

  function liveLabel() {
    return { open: ' · Live', connecting: ' · Connecting to live updates…', closed: ' · Live updates paused; retrying',
      unsupported: '' }[liveStatus] || '';
  }

  function setLive(status) {
    liveStatus = status;
    document.documentElement.dataset.live = status;
    var dot = document.getElementById('live-dot');
    dot.className = 'live-dot live-' + status;
    var label = document.getElementById('live-label');
    if (label) label.textContent = liveLabel();
  }

  function sameFilter(f) {
    var p = filterParams();
    return String(double(f, 'year') || '') === String(p.year || '') &&
      text(f, 'workingGroupId') === p.group &&
      String(double(f, 'pillar') || '') === String(p.pillar || '');
  }

  function onLiveOverview(event) {
    var o;
    try { o = JSON.parse(event.data); } catch (e) { return; }
    var f = msg(o, 'freshness');
    var stamp = text(f, 'asOf') + '/' + int64(f, 'eventsApplied');
    if (stamp === state.overviewStamp) return;
    announceUpdate(text(f, 'asOf'));
    if (sameFilter(msg(o, 'filter'))) {
      renderOverview(o);
    } else {
      // The stream is for other filters (or for none): fetch ours.
      var token = state.loadToken;
      apiGet('/api/overview', filterParams()).then(function (mine) {
        if (token === state.loadToken) renderOverview(mine);
      }, function () { /* the quiet refresh will show the error */ });
    }
    scheduleQuietRefresh();
  }

  // Screen readers hear that the figures changed, but not every second.
  function announceUpdate(asOf) {
    var now = Date.now();
    if (now - state.announcedAt < ANNOUNCE_MS) return;
    state.announcedAt = now;
    document.getElementById('live-announcer').textContent =
      'Figures updated' + (isSetTime(asOf) ? ', as of ' + formatTime(asOf) : '') + '.';
  }

  // After a live change, the other sections reload too, at most every few
  // seconds, without moving focus or scrolling.
  function scheduleQuietRefresh(delayMs) {
    if (state.quietTimer) return;
    state.quietTimer = setTimeout(function () {
      state.quietTimer = 0;
      loadSections().then(finishLoad);
    }, delayMs || QUIET_REFRESH_MS);
  }

  function connectEvents() {
    clearTimeout(state.reconnectTimer);
    if (state.events) { state.events.close(); state.events = null; }
    if (typeof window.EventSource !== 'function') { setLive('unsupported'); return; }
    setLive('connecting');
    var es = new EventSource('/api/events' + queryString(filterParams()));
    es.addEventListener('open', function () { setLive('open'); });
    es.addEventListener('overview', onLiveOverview);
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CLOSED) {
        setLive('closed');
        state.reconnectTimer = setTimeout(connectEvents, RECONNECT_MS);
      } else {
        setLive('connecting');
      }
    });
    state.events = es;
  }

  // ---------------------------------------------------------------- print

  function resizeCharts() {
    state.charts.forEach(function (c) { c.resize(); });
  }

  function setupPrint() {
    window.addEventListener('beforeprint', function () {
      document.getElementById('printed-at').textContent = 'Printed ' + dateTimeFormat.format(new Date()) + '.';
      resizeCharts();
    });
    window.addEventListener('afterprint', resizeCharts);
    var media = window.matchMedia('print');
    if (media.addEventListener) media.addEventListener('change', resizeCharts);
  }

  // ---------------------------------------------------------------- start

  // The first load may render before the working groups' titles arrive: the
  // sections that name groups render again once both are in.
  function relabel() {
    if (!state.groups.length) return;
    if (state.data.funding) {
      renderFunding('group', state.data.funding[0]);
      renderFunding('pillar', state.data.funding[1]);
    }
    if (state.data.monitoring) renderMonitoring(state.data.monitoring);
  }

  function start() {
    setPageState('loading');
    setupChartDefaults();
    setupPrint();
    readFilterFromUrl();
    var form = document.getElementById('filters');
    form.addEventListener('submit', onFilterSubmit);
    document.getElementById('filter-reset').addEventListener('click', onFilterReset);
    connectEvents();
    Promise.all([loadFilterOptions().catch(function () {}), loadSections()]).then(function (r) {
      if (r[1] !== null) relabel();
      finishLoad(r[1]);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
