// Cairn's dashboard: plain modules, no build. It reads everything through /graphql with the API key the user
// gives (or the one in the URL fragment `#key=...`, which the development mode prints and which never reaches
// the server), and refreshes when the incidentChanged subscription says something changed. A browser cannot put
// the key header on a websocket, so the key travels in connection_init; a slow poll covers a dropped socket.

const POLL_MS = 30_000;
const RECONNECT_MS = 3000;
const KEY_STORAGE = 'cairn.apiKey';

const $ = (selector) => document.querySelector(selector);
const state = {
  key: null,
  selected: null,
  stateFilter: '',
  timer: null,
  socket: null,
  pending: null,
  // What the user typed, and what the API said, per approval request: kept across re-renders.
  reasons: {},
  decisions: {},
};

const text = (value) => (value === null || value === undefined ? '' : String(value));
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(text(child)));
  return node;
};
const badge = (kind, value) => el('span', { class: `badge ${kind}-${value}` }, value);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const seconds = (s) =>
  s === null || s === undefined ? 'n/a' : s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;

class AuthError extends Error {}

async function graphql(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': state.key },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401 || response.status === 403) {
    const problem = await response.json().catch(() => ({}));
    throw new AuthError(problem.detail || `the API refused the key (${response.status})`);
  }
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

const LIST = `query ($state: [String!]) {
  incidents(filter: { state: $state }, limit: 100) {
    items { id name state severity riskScore signal detectedAt workload { kind name namespace } }
  }
  analytics {
    incidents { total open resolved escalated }
    mttdSeconds mttrSeconds
    remediations { successRate }
  }
}`;

const DETAIL = `query ($id: ID!) {
  incident(id: $id) {
    id name state severity riskScore signals acknowledgedBy snoozedUntil detectedAt endedAt attempts maxAttempts
    workload { kind name namespace }
    cascade { role rootIssueId chain { issueId name workload { kind name namespace } } }
    remediationDeferral { rootIssueId reason since }
    recoveredWithRoot { rootIssueId detail }
    timeline { occurredAt type actor summary }
    insight { status analysis confidence provider recommendations suggestedActions { type description }
      gitOps suspectedCommits { repository sha author message confidence reasons } }
    remediation {
      status outcome source actions { type status detail params { name value } }
      blastRadius {
        totals { pods pdbViolations servicesEmptied quotaOverflows dependants }
        actions {
          type pods replicas { before after }
          pdbViolations { namespace name podsTaken disruptionsAllowed }
          servicesEmptied { namespace name readyEndpoints }
          quotaOverflows { namespace name resource used added hard }
        }
        dependants { kind name namespace }
      }
    }
    postmortem {
      state summary rootCause durationSeconds cascadeChain cascadePosition gitOps
      suspectedCommit { repository sha author message confidence reasons }
      blastRadius { attempt dependants actions { pods pdbViolations { name } servicesEmptied { name } quotaOverflows { name } } }
    }
    notifications { channel { name type } transition decidedAt outcome attempts statusCode error test }
    sla {
      sla { namespace name }
      businessHours { timeZone }
      response { state dueAt remainingSeconds endedAt }
      resolution { state dueAt remainingSeconds endedAt }
    }
  }
}`;

function renderSummary(analytics) {
  const { incidents, remediations } = analytics;
  const rate = remediations.successRate === null ? 'n/a' : `${Math.round(remediations.successRate * 100)} %`;
  const cards = [
    ['Open', incidents.open],
    ['Resolved', incidents.resolved],
    ['Escalated', incidents.escalated],
    ['Total', incidents.total],
    ['MTTD', seconds(analytics.mttdSeconds)],
    ['MTTR', seconds(analytics.mttrSeconds)],
    ['Remediation success', rate],
  ];
  $('#summary').replaceChildren(
    ...cards.map(([label, value]) => el('div', { class: 'card' }, el('b', {}, value), label)),
  );
}

function renderList(items) {
  const rows = items.map((incident) => {
    const w = incident.workload;
    const row = el(
      'tr',
      { 'data-id': incident.id, class: incident.id === state.selected ? 'selected' : '' },
      el('td', {}, badge('sev', incident.severity)),
      el('td', {}, badge('state', incident.state)),
      el('td', {}, `${w.namespace}/${w.kind.toLowerCase()}/${w.name}`),
      el('td', {}, incident.signal),
      el('td', {}, incident.riskScore),
      el('td', {}, when(incident.detectedAt)),
    );
    row.addEventListener('click', () => select(incident.id));
    return row;
  });
  $('#incidents tbody').replaceChildren(...rows);
  $('#empty').hidden = items.length > 0;
}

/** The pending approval requests of an incident, through REST (the GraphQL read model does not hold them). */
async function approvalsOf(issueId) {
  const response = await fetch(`/api/v1/approvals?issueId=${encodeURIComponent(issueId)}&state=pending`, {
    headers: { 'x-api-key': state.key },
  });
  if (!response.ok) return [];
  return (await response.json()).items;
}

/** Approves or rejects as the key of the page; the API decides who may (operator and admin keys). */
async function decide(requestId, decision, reason) {
  const response = await fetch(`/api/v1/approvals/${encodeURIComponent(requestId)}/${decision}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': state.key },
    body: JSON.stringify(decision === 'reject' && reason ? { reason } : {}),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(`${problem.detail || problem.title || 'refused'} (HTTP ${response.status})`);
  }
}

function renderApprovals(approvals) {
  if (approvals.length === 0) return [];
  return [
    el('h3', {}, 'Waiting for approval'),
    ...approvals.map((a) => {
      const reason = el('input', { type: 'text', class: 'reason', placeholder: 'reason', 'aria-label': 'Reason' });
      reason.value = state.reasons[a.id] ?? '';
      reason.addEventListener('input', () => {
        state.reasons[a.id] = reason.value;
      });
      const button = (label, decision) => {
        const node = el('button', { type: 'button', class: decision }, label);
        node.addEventListener('click', async () => {
          try {
            await decide(a.id, decision, reason.value.trim());
            state.decisions[a.id] = '';
            delete state.reasons[a.id];
          } catch (error) {
            state.decisions[a.id] = error.message;
          }
          void refresh();
        });
        return node;
      };
      const who = a.approvers.length > 0 ? ` (${a.approvers.join(', ')})` : '';
      return el(
        'div',
        { class: 'approval', 'data-request': a.id },
        el('p', {}, `${a.approvers.length} of ${a.requiredApprovals} approval(s)${who}, expires ${when(a.expiresAt)}`),
        reason,
        ' ',
        button('Approve', 'approve'),
        ' ',
        button('Reject', 'reject'),
        ' ',
        el('span', { class: 'decision-error' }, state.decisions[a.id] ?? ''),
      );
    }),
  ];
}

/** The analysis' most likely commit with its reasons (how many others it suspected), and the GitOps state it saw. */
function renderSuspects(insight) {
  const parts = [];
  const [top, ...others] = insight.suspectedCommits ?? [];
  if (top) {
    parts.push(
      el(
        'p',
        { class: 'insight-commit' },
        `Most likely commit ${top.sha.slice(0, 7)} in ${top.repository}${top.author ? ` by ${top.author}` : ''}` +
          `${top.message ? `: ${top.message}` : ''} (confidence ${Math.round(top.confidence * 100)} %)` +
          `${others.length ? `; ${others.length} other commit(s) suspected` : ''}`,
      ),
      el('ul', { class: 'insight-commit-reasons' }, ...top.reasons.map((r) => el('li', {}, r))),
    );
  }
  if (insight.gitOps) parts.push(el('p', { class: 'insight-gitops' }, `GitOps: ${insight.gitOps}`));
  return parts;
}

function renderDetail(incident, approvals = []) {
  const detail = $('#detail');
  if (!incident) {
    detail.hidden = true;
    return;
  }
  const w = incident.workload;
  const parts = [
    el('h2', {}, `${w.kind}/${w.name} in ${w.namespace}`),
    el(
      'p',
      {},
      badge('sev', incident.severity),
      ' ',
      badge('state', incident.state),
      ` risk ${incident.riskScore} · signals ${incident.signals.join(', ')} · attempt ${incident.attempts} of ${incident.maxAttempts}`,
      incident.acknowledgedBy ? ` · acknowledged by ${incident.acknowledgedBy}` : '',
    ),
  ];
  parts.push(...renderCascade(incident));
  if (incident.insight) {
    const i = incident.insight;
    parts.push(
      el('h3', {}, 'Insight'),
      el(
        'p',
        { class: 'insight' },
        i.analysis ?? i.status,
        i.confidence !== null ? ` (confidence ${i.confidence}, ${i.provider})` : '',
      ),
      el('ul', {}, ...i.recommendations.map((r) => el('li', {}, r))),
      ...renderSuspects(i),
    );
  }
  if (incident.remediation) {
    const r = incident.remediation;
    parts.push(
      el('h3', {}, `Remediation: ${r.status}${r.outcome ? ` (${r.outcome})` : ''}`),
      el(
        'ol',
        { class: 'actions' },
        ...r.actions.map((a) =>
          el(
            'li',
            {},
            `${a.type}(${a.params.map((p) => `${p.name}=${p.value}`).join(', ')}) `,
            badge('action', a.status),
            a.detail ? `: ${a.detail}` : '',
          ),
        ),
      ),
    );
  }
  parts.push(...renderBlastRadius(incident.remediation?.blastRadius));
  parts.push(...renderSla(incident.sla));
  parts.push(...renderApprovals(approvals));
  if (incident.postmortem) {
    const pm = incident.postmortem;
    parts.push(
      el('h3', {}, `Postmortem (${pm.state})`),
      el('p', {}, pm.summary),
      el('p', { class: 'muted' }, pm.rootCause),
      ...renderChangeContext(pm),
    );
  }
  parts.push(...renderNotifications(incident.notifications));
  parts.push(
    el('h3', {}, 'Timeline'),
    el(
      'ol',
      { class: 'timeline' },
      ...incident.timeline.map((t) =>
        el('li', {}, el('time', {}, when(t.occurredAt)), t.summary, t.actor ? ` (${t.actor})` : ''),
      ),
    ),
  );
  detail.replaceChildren(...parts);
  detail.hidden = false;
}

/** A link that opens another incident of the list in this view. */
function incidentLink(issueId, label) {
  const link = el('a', { href: '#', class: 'incident-link', 'data-incident': issueId }, label);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    select(issueId);
  });
  return link;
}

/** The incident's cascade: the root names how many it took down; a dependant links to the root it waits for. */
function renderCascade(incident) {
  const c = incident.cascade;
  if (!c) return [];
  const root = c.chain.find((m) => m.issueId === c.rootIssueId);
  const rootLabel = root ? `${root.workload.kind}/${root.workload.name} in ${root.workload.namespace}` : c.rootIssueId;
  const lines = [];
  if (c.role === 'root') {
    const dependants = c.chain.length - 1;
    lines.push(
      el(
        'p',
        { class: 'cascade-role' },
        `Root cause of ${dependants} ${dependants === 1 ? 'other incident' : 'other incidents'}`,
      ),
    );
  } else if (incident.remediationDeferral) {
    lines.push(
      el(
        'p',
        { class: 'cascade-role' },
        'Waiting for root ',
        incidentLink(c.rootIssueId, rootLabel),
        `: no plan starts until it is fixed (since ${when(incident.remediationDeferral.since)})`,
      ),
    );
  } else if (incident.recoveredWithRoot) {
    lines.push(
      el(
        'p',
        { class: 'cascade-role' },
        'Recovered with its root ',
        incidentLink(c.rootIssueId, rootLabel),
        `: ${incident.recoveredWithRoot.detail}`,
      ),
    );
  } else {
    lines.push(el('p', { class: 'cascade-role' }, 'Dependant of root ', incidentLink(c.rootIssueId, rootLabel)));
  }
  lines.push(
    el(
      'ol',
      { class: 'cascade-chain' },
      ...c.chain.map((m) =>
        el(
          'li',
          {},
          m.issueId === incident.id
            ? `${m.workload.kind}/${m.workload.name} (this incident)`
            : incidentLink(m.issueId, `${m.workload.kind}/${m.workload.name}`),
        ),
      ),
    ),
  );
  return [el('h3', {}, 'Cascade'), ...lines];
}

/** What the PostMortem says changed around the incident: its cascade, the suspected commit, GitOps, blast radius. */
function renderChangeContext(pm) {
  const parts = [];
  if (pm.cascadeChain.length) {
    const place = pm.cascadePosition === 1 ? 'the root cause' : `${pm.cascadePosition} of ${pm.cascadeChain.length}`;
    parts.push(
      el(
        'p',
        { class: 'pm-cascade' },
        `Cascade, root cause first: ${pm.cascadeChain.join(' → ')} (this Issue: ${place})`,
      ),
    );
  }
  const c = pm.suspectedCommit;
  if (c) {
    parts.push(
      el(
        'p',
        { class: 'pm-commit' },
        `Suspected commit ${c.sha.slice(0, 7)} in ${c.repository}${c.author ? ` by ${c.author}` : ''}` +
          `${c.message ? `: ${c.message}` : ''} (confidence ${Math.round(c.confidence * 100)} %)`,
      ),
      el('ul', { class: 'pm-commit-reasons' }, ...c.reasons.map((r) => el('li', {}, r))),
    );
  }
  if (pm.gitOps) parts.push(el('p', { class: 'pm-gitops' }, `GitOps: ${pm.gitOps}`));
  if (pm.blastRadius.length) {
    const count = (plan, key) => plan.actions.reduce((n, a) => n + a[key].length, 0);
    parts.push(
      el(
        'ul',
        { class: 'pm-blast' },
        ...pm.blastRadius.map((plan) =>
          el(
            'li',
            {},
            `Plan for attempt ${plan.attempt}: ${plan.actions.reduce((n, a) => n + a.pods, 0)} pod(s), ` +
              `${count(plan, 'pdbViolations')} PodDisruptionBudget(s) violated, ${count(plan, 'servicesEmptied')} Service(s) emptied, ` +
              `${count(plan, 'quotaOverflows')} quota(s) exceeded, ${plan.dependants.length} dependant(s)`,
          ),
        ),
      ),
    );
  }
  return parts;
}

/** A quota amount in its unit: memory in Mi, cpu in cores or millicores, counts as they are. */
const amount = (resource, v) =>
  /memory|storage/.test(resource)
    ? `${Number((v / 2 ** 20).toFixed(1))}Mi`
    : /cpu/.test(resource)
      ? v < 1
        ? `${Math.round(v * 1000)}m`
        : `${Number(v.toFixed(3))}`
      : `${Number(v.toFixed(3))}`;

/** The plan's blast radius as recorded when it was made: the totals, then what each action touches. */
function renderBlastRadius(radius) {
  if (!radius) return [];
  const t = radius.totals;
  const findings = radius.actions.flatMap((a) => [
    ...(a.replicas ? [`${a.type}: ${a.replicas.before} → ${a.replicas.after} replicas`] : []),
    ...a.pdbViolations.map(
      (v) =>
        `${a.type} violates PodDisruptionBudget ${v.namespace}/${v.name}: takes ${v.podsTaken} healthy pod(s), allows ${v.disruptionsAllowed}`,
    ),
    ...a.servicesEmptied.map(
      (s) => `${a.type} empties Service ${s.namespace}/${s.name} (${s.readyEndpoints} ready endpoint(s))`,
    ),
    ...a.quotaOverflows.map(
      (q) =>
        `${a.type} exceeds ResourceQuota ${q.namespace}/${q.name} ${q.resource}: ${amount(q.resource, q.used)} used + ${amount(q.resource, q.added)} > ${amount(q.resource, q.hard)}`,
    ),
  ]);
  const dependants = radius.dependants.map((d) => `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}`);
  return [
    el('h3', {}, 'Blast radius'),
    el(
      'table',
      { class: 'blast-radius' },
      el(
        'tbody',
        {},
        ...[
          ['Pods', t.pods],
          ['PodDisruptionBudgets violated', t.pdbViolations],
          ['Services emptied', t.servicesEmptied],
          ['Quotas exceeded', t.quotaOverflows],
          ['Dependants', t.dependants],
        ].map(([label, value]) => el('tr', { 'data-metric': label }, el('th', {}, label), el('td', {}, String(value)))),
      ),
    ),
    el('ul', { class: 'blast-findings' }, ...findings.map((f) => el('li', {}, f))),
    ...(dependants.length > 0 ? [el('p', { class: 'muted' }, `Dependants: ${dependants.join(', ')}`)] : []),
  ];
}

/** Hours and minutes of clock time, e.g. `1 h 05 min`; under a minute in seconds. */
const clockTime = (s) => {
  if (s < 60) return `${Math.round(s)} s`;
  const minutes = Math.floor(s / 60);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${String(minutes % 60).padStart(2, '0')} min` : `${minutes} min`;
};

/** The incident's SLA clocks: due when and how much (business) time is left, met, or breached. */
function renderSla(sla) {
  if (!sla) return [];
  const line = (label, clock) => {
    const status =
      clock.state === 'met'
        ? `met at ${when(clock.endedAt)} (due ${when(clock.dueAt)})`
        : clock.state === 'violated'
          ? `breached: was due ${when(clock.dueAt)}`
          : `due ${when(clock.dueAt)}, ${clockTime(clock.remainingSeconds ?? 0)} left`;
    return el(
      'li',
      { 'data-clock': label.toLowerCase(), 'data-state': clock.state },
      `${label}: `,
      el('span', { class: `badge clock-${clock.state}` }, status),
    );
  };
  const hours = sla.businessHours ? `business hours, ${sla.businessHours.timeZone}` : 'around the clock';
  return [
    el('h3', {}, `SLA (${sla.sla.namespace}/${sla.sla.name}, ${hours})`),
    el('ul', { class: 'sla' }, line('Response', sla.response), line('Resolution', sla.resolution)),
  ];
}

/** Who was told what of the incident: one line per delivery, with how it went. */
function renderNotifications(deliveries) {
  if (!deliveries || deliveries.length === 0) return [];
  const outcome = (d) => {
    const answer = d.statusCode === null ? '' : ` (HTTP ${d.statusCode})`;
    if (d.outcome === 'delivered') return `delivered${answer}`;
    if (d.outcome === 'failed') return `failed after ${d.attempts} attempt(s)${d.error ? `: ${d.error}` : ''}`;
    if (d.outcome === 'retrying') return `retrying, ${d.attempts} failed${d.error ? `: ${d.error}` : ''}`;
    return 'pending';
  };
  return [
    el('h3', {}, 'Notifications'),
    el(
      'ul',
      { class: 'notifications' },
      ...deliveries.map((d) =>
        el(
          'li',
          { 'data-outcome': d.outcome },
          el('time', {}, when(d.decidedAt)),
          `${d.channel.name} (${d.channel.type}) told ${d.transition.replace('_', ' ')}: `,
          el('span', { class: `badge outcome-${d.outcome}` }, outcome(d)),
        ),
      ),
    ),
  ];
}

async function refresh() {
  try {
    const data = await graphql(LIST, { state: state.stateFilter ? [state.stateFilter] : null });
    renderSummary(data.analytics);
    renderList(data.incidents.items);
    if (state.selected) {
      const { incident } = await graphql(DETAIL, { id: state.selected });
      const waiting = incident?.remediation?.status === 'WaitingApproval';
      renderDetail(incident, waiting ? await approvalsOf(incident.id) : []);
    }
    $('#error').textContent = '';
    $('#live').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error instanceof AuthError) return logout(error.message);
    $('#error').textContent = error.message;
  }
}

function select(id) {
  state.selected = id;
  for (const row of document.querySelectorAll('#incidents tbody tr')) {
    row.classList.toggle('selected', row.dataset.id === id);
  }
  void refresh();
}

/** Many changes arrive together (a remediation's checkpoints): one refresh for a burst. */
function refreshSoon() {
  if (state.pending !== null) return;
  state.pending = setTimeout(() => {
    state.pending = null;
    void refresh();
  }, 150);
}

/** The incidentChanged subscription over graphql-transport-ws, the key in connection_init; reconnects if dropped. */
function listen() {
  const key = state.key;
  // One socket at a time: the one it replaces sees it is no longer current and does not reconnect.
  const previous = state.socket;
  state.socket = null;
  previous?.close();
  const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  state.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: key } }));
  socket.onmessage = (message) => {
    const { type } = JSON.parse(message.data);
    if (type === 'connection_ack') {
      const query = 'subscription { incidentChanged { id } }';
      socket.send(JSON.stringify({ id: 'changes', type: 'subscribe', payload: { query } }));
      $('#live').dataset.live = 'true';
    } else if (type === 'next') {
      refreshSoon();
    }
  };
  socket.onclose = () => {
    $('#live').dataset.live = 'false';
    if (state.socket !== socket || state.key !== key) return;
    state.socket = null;
    setTimeout(() => {
      if (state.key === key && state.socket === null) listen();
    }, RECONNECT_MS);
  };
}

function start() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#forget').hidden = false;
  void refresh();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, POLL_MS);
  listen();
}

function logout(reason = '') {
  clearInterval(state.timer);
  const socket = state.socket;
  state.socket = null;
  socket?.close();
  state.key = null;
  sessionStorage.removeItem(KEY_STORAGE);
  $('#app').hidden = true;
  $('#forget').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = reason;
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  state.key = $('#key').value.trim();
  sessionStorage.setItem(KEY_STORAGE, state.key);
  start();
});
$('#forget').addEventListener('click', () => logout());
$('#state').addEventListener('change', (event) => {
  state.stateFilter = event.target.value;
  void refresh();
});

// A key in the fragment (the development mode's link) is taken once and removed from the address bar.
const fromFragment = new URLSearchParams(location.hash.slice(1)).get('key');
if (fromFragment) {
  sessionStorage.setItem(KEY_STORAGE, fromFragment);
  history.replaceState(null, '', location.pathname);
}
state.key = sessionStorage.getItem(KEY_STORAGE);
if (state.key) start();
else logout();
