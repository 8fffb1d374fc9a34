// The farm dashboard: polls GET /v1/dashboard every 2 s (one request for everything) and follows
// one log at a time over SSE (/v1/builds/:id/events or /v1/jobs/:id/logs) — the API caps open
// streams per client, so rows never open streams of their own. Plain JS, no dependencies.
//
// Credentials: a farm with API_AUTH=token wants `Authorization: Bearer jrf_…`, which a browser
// never sends by itself (no cookies: nothing another site could make it send). The token comes
// from the sign-in form or from the address `…/ui#token=jrf_…` (the fragment never reaches a
// server) and is kept in this tab's sessionStorage only. Streams are read with fetch(), since
// EventSource cannot send headers. Every request also says `X-Joblet-Request: 1`.
// @ts-check

const POLL_MS = 2000;
const MAX_LOG_LINES = 5000;
const TOKEN_KEY = 'joblet.token';

{
  const m = /^#token=(jrf_[A-Za-z0-9_-]+)$/.exec(location.hash);
  if (m?.[1]) sessionStorage.setItem(TOKEN_KEY, m[1]);
  // Out of the address bar and this history entry, whether it was a token or not.
  if (m) history.replaceState(null, '', location.pathname + location.search);
}

/** @param {Record<string, string>} extra */
function headers(extra) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return {
    ...extra,
    'x-joblet-request': '1',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** @param {unknown} v */
const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));
const badge = (/** @type {string} */ s) => `<span class="badge s-${esc(s)}">${esc(s)}</span>`;
const short = (/** @type {string} */ id) => esc(id.slice(0, 8));

/** @param {number} n */
function bytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** @param {number} s seconds */
function dur(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** @param {string | undefined} iso */
const ago = (iso) => (iso ? `${dur((Date.now() - Date.parse(iso)) / 1000)} ago` : '');

/**
 * @param {string} section
 * @param {string[]} rows
 * @param {number} cols
 * @param {string} empty
 */
function fill(section, rows, cols, empty) {
  $(`#${section} tbody`).innerHTML = rows.length
    ? rows.join('')
    : `<tr><td colspan="${cols}" class="empty">${esc(empty)}</td></tr>`;
}

/** @param {any[]} pools */
function renderPools(pools) {
  const rows = pools.map(
    (p) =>
      `<tr data-arch="${esc(p.arch)}"><td>${esc(p.arch)}</td><td class="num">${p.workers}</td>` +
      `<td class="num">${p.waiting}</td><td class="num">${p.active}</td><td class="num">${p.backlog}</td>` +
      `<td class="num">${p.waiting ? dur(p.oldestWaitingAgeS) : '—'}</td></tr>`,
  );
  fill('pools', rows, 6, 'no build pools');
}

/** @param {any[]} nodes */
function renderNodes(nodes) {
  const rows = nodes.map((n) => {
    const installed = n.runtimes.filter((/** @type {any} */ r) => r.state === 'installed').length;
    const disk = n.disk ? `${bytes(n.disk.freeBytes)} of ${bytes(n.disk.totalBytes)}` : '—';
    return (
      `<tr data-node="${esc(n.name)}"><td>${esc(n.name)}</td><td>${esc(n.arch)}</td>` +
      `<td>${badge(n.online ? 'online' : 'offline')}</td><td>${esc(ago(n.lastHeartbeat))}</td>` +
      `<td class="num">${esc(disk)}</td><td class="num">${installed}/${n.runtimes.length}</td></tr>`
    );
  });
  fill('nodes', rows, 6, 'no nodes registered');
}

/** Runtimes as rows; per architecture its artifact, per node its install state. */
function renderRuntimes(/** @type {any[]} */ runtimes, /** @type {any[]} */ nodes) {
  const head = [
    'runtime',
    'language',
    'architectures',
    ...nodes.map((n) => `${n.name} (${n.arch})`),
  ];
  $('#runtimes thead').innerHTML = `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = runtimes.map((r) => {
    const arches = r.arches
      .map(
        (/** @type {string} */ a) =>
          `<span class="arch">${esc(a)} ${bytes(r.artifactBytes[a])}</span>`,
      )
      .join('');
    const cells = nodes.map((n) => {
      if (!r.arches.includes(n.arch)) return '<td class="empty">n/a</td>';
      const st = n.runtimes.find(
        (/** @type {any} */ x) => x.name === r.name && x.version === r.version,
      );
      const title = st?.error ? ` title="${esc(st.error)}"` : '';
      return `<td${title}>${st ? badge(st.state) : '<span class="empty">—</span>'}</td>`;
    });
    return (
      `<tr data-runtime="${esc(`${r.name}@${r.version}`)}"><td>${esc(r.name)}@${esc(r.version)}</td>` +
      `<td>${esc(r.language)} ${esc(r.languageVersion)}</td><td>${arches}</td>${cells.join('')}</tr>`
    );
  });
  fill('runtimes', rows, head.length, 'no runtimes published');
}

/** @param {any} a per-arch status */
function archText(a) {
  if (a.state === 'running' && a.phase)
    return `running ${a.phase.n}/${a.phase.total} ${a.phase.name}`;
  return a.state;
}

/** @param {any[]} builds */
function renderBuilds(builds) {
  const rows = builds.map((b) => {
    const arches = Object.entries(b.archStatus)
      .map(([arch, a]) => `<span class="arch">${esc(arch)}: ${badge(archText(a))}</span>`)
      .join('');
    const took = b.finishedAt
      ? dur((Date.parse(b.finishedAt) - Date.parse(b.createdAt)) / 1000)
      : '';
    const sel = log.kind === 'build' && log.id === b.id ? ' class="selected"' : '';
    return (
      `<tr data-build-id="${esc(b.id)}" data-state="${esc(b.state)}"${sel}>` +
      `<td class="mono">${short(b.id)}</td><td>${esc(b.name)}@${esc(b.version)}</td>` +
      `<td>${badge(b.state)}</td><td>${arches}</td><td>${esc(ago(b.createdAt))}</td>` +
      `<td>${esc(took)}</td><td><button type="button" data-log="build" data-id="${esc(b.id)}">log</button></td></tr>`
    );
  });
  fill('builds', rows, 7, 'no builds yet');
}

/** @param {any[]} jobs */
function renderJobs(jobs) {
  const rows = jobs.map((j) => {
    const cmd = j.commandLine + (j.commandLineTruncated ? '…' : '');
    const exit = j.exitCode !== undefined ? ` (exit ${j.exitCode})` : '';
    const sel = log.kind === 'job' && log.id === j.id ? ' class="selected"' : '';
    return (
      `<tr data-job-id="${esc(j.id)}" data-state="${esc(j.state)}"${sel}>` +
      `<td class="mono">${short(j.id)}</td><td class="mono" title="${esc(cmd)}">${esc(cmd.slice(0, 60))}</td>` +
      `<td>${esc(j.runtime.name)}@${esc(j.runtime.version)}</td><td>${esc(j.node ?? j.pinnedNode ?? '')}</td>` +
      `<td>${badge(j.state)}${esc(exit)}</td><td>${esc(ago(j.createdAt))}</td>` +
      `<td><button type="button" data-log="job" data-id="${esc(j.id)}">log</button></td></tr>`
    );
  });
  fill('jobs', rows, 7, 'no jobs yet');
}

// ---- the one live log view ----

/** @type {{ kind?: 'build' | 'job', id?: string, stop?: AbortController }} */
const log = {};

/** @param {string} text @param {string} [cls] */
function logLine(text, cls) {
  const pre = $('#log-lines');
  const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const line = document.createElement('div');
  line.textContent = text;
  if (cls) line.className = cls;
  pre.appendChild(line);
  while (pre.childElementCount > MAX_LOG_LINES) pre.firstElementChild?.remove();
  if (stick) pre.scrollTop = pre.scrollHeight;
}

function closeLog() {
  log.stop?.abort();
  log.stop = undefined;
  log.kind = undefined;
  log.id = undefined;
  $('#log').hidden = true;
}

/** @param {any} e a build event */
function onBuildEvent(e) {
  const arch = e.arch ? `[${e.arch}] ` : '';
  if (e.type === 'phase') logLine(`${arch}[${e.n}/${e.total}] ${e.name}`, 'l-phase');
  else if (e.type === 'log')
    logLine(`${arch}${e.line}`, e.stream === 'stdout' ? '' : `l-${e.stream}`);
  else if (e.type === 'submitted')
    logLine(`submitted ${e.name}@${e.version} for ${e.arches.join(', ')}`, 'l-system');
  else if (e.type === 'arch-retry')
    logLine(`${arch}retry ${e.attempt}: ${e.error.message}`, 'l-fail');
  else if (e.type === 'arch-succeeded')
    logLine(`${arch}succeeded in ${dur(e.durationMs / 1000)}`, 'l-done');
  else if (e.type === 'arch-failed') logLine(`${arch}failed: ${e.error.message}`, 'l-fail');
  else if (e.type === 'arch-canceled') logLine(`${arch}canceled`, 'l-fail');
  else if (e.type === 'done') {
    logLine(
      `build ${e.state}${e.error ? `: ${e.error.message}` : ''}`,
      e.state === 'succeeded' ? 'l-done' : 'l-fail',
    );
    return e.state;
  }
  return undefined;
}

/** @param {any} e a job event */
function onJobEvent(e) {
  if (e.type === 'out') logLine(e.line, e.stream === 'stderr' ? 'l-stderr' : '');
  else if (e.type === 'state') logLine(`— ${e.state}${e.node ? ` on ${e.node}` : ''}`, 'l-system');
  else if (e.type === 'end') {
    const why =
      e.exitCode !== undefined ? ` (exit ${e.exitCode})` : e.reason ? ` (${e.reason})` : '';
    logLine(
      `— ${e.state}${why}${e.message ? `: ${e.message}` : ''}`,
      e.state === 'COMPLETED' ? 'l-done' : 'l-fail',
    );
    return e.state;
  }
  return undefined;
}

/** @param {string} state */
function setLogState(state) {
  const el = $('#log-state');
  el.textContent = state;
  el.className = `badge s-${state}`;
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows an SSE stream until `onEvent` returns true (the terminal event) or `signal` aborts;
 * a dropped connection resumes after the last event id, as EventSource would.
 * @param {string} url
 * @param {(ev: { id: string, event: string, data: string }) => boolean} onEvent
 * @param {AbortSignal} signal
 */
async function followStream(url, onEvent, signal) {
  let lastId = '';
  for (let failures = 0; failures <= 10 && !signal.aborted; failures++) {
    try {
      const res = await fetch(url, {
        headers: headers({
          accept: 'text/event-stream',
          ...(lastId ? { 'last-event-id': lastId } : {}),
        }),
        signal,
      });
      if (!res.ok || !res.body) {
        const body = await res.json().catch(() => ({}));
        logLine(`${res.status} ${body.message ?? res.statusText}`, 'l-fail');
        break;
      }
      failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let ev = { id: '', event: 'message', data: '' };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (ev.id) lastId = ev.id;
            if (ev.data !== '' && onEvent(ev)) {
              await reader.cancel().catch(() => undefined);
              return;
            }
            ev = { id: '', event: 'message', data: '' };
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') ev.id = val;
            else if (field === 'event') ev.event = val;
            else if (field === 'data') ev.data = ev.data ? `${ev.data}\n${val}` : val;
          }
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await sleep(1000);
  }
  if (!signal.aborted) setLogState('disconnected');
}

/** @param {'build' | 'job'} kind @param {string} id */
function openLog(kind, id) {
  closeLog();
  log.kind = kind;
  log.id = id;
  $('#log').hidden = false;
  $('#log-title').textContent = `${kind} ${id}`;
  setLogState('following');
  $('#log-lines').textContent = '';
  const url = kind === 'build' ? `/v1/builds/${id}/events` : `/v1/jobs/${id}/logs`;
  const stop = new AbortController();
  log.stop = stop;
  const handle = kind === 'build' ? onBuildEvent : onJobEvent;
  void followStream(
    url,
    (ev) => {
      const end = handle(JSON.parse(ev.data));
      if (end) setLogState(end);
      return Boolean(end);
    },
    stop.signal,
  );
  void refresh();
}

$('#signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('#signin-token'));
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = '';
  last = undefined;
  void refresh();
});

document.addEventListener('click', (ev) => {
  const btn = /** @type {HTMLElement} */ (ev.target).closest('button[data-log]');
  if (btn instanceof HTMLElement && btn.dataset.id)
    openLog(btn.dataset.log === 'job' ? 'job' : 'build', btn.dataset.id);
  else if (/** @type {HTMLElement} */ (ev.target).id === 'log-close') closeLog();
});

// ---- polling ----

let last = /** @type {any} */ (undefined);

async function refresh() {
  const status = $('#status');
  try {
    if (!last || Date.now() - last.at > 500) {
      const res = await fetch('/v1/dashboard', {
        headers: headers({ accept: 'application/json' }),
      });
      // 401: this farm wants a token (none yet, or it expired or was revoked).
      $('#signin').hidden = res.status !== 401;
      if (!res.ok)
        throw new Error(
          `${res.status} ${(await res.json().catch(() => ({}))).message ?? res.statusText}`,
        );
      last = { at: Date.now(), data: await res.json() };
    }
    const d = last.data;
    renderPools(d.pools);
    renderNodes(d.nodes);
    renderRuntimes(d.runtimes, d.nodes);
    renderBuilds(d.builds);
    renderJobs(d.jobs);
    status.textContent = `live · updated ${new Date(d.generatedAt).toLocaleTimeString()}`;
    status.classList.remove('down');
  } catch (err) {
    status.textContent = `disconnected: ${/** @type {Error} */ (err).message}; retrying`;
    status.classList.add('down');
  }
}

async function loop() {
  await refresh();
  setTimeout(() => void loop(), POLL_MS);
}
void loop();
