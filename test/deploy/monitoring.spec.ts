/**
 * deploy/grafana and deploy/prometheus reference only metrics the code exports. The exported
 * names come from the code itself: the registry the apps build (Node's default metrics,
 * PipelineMetrics, the read API's queue gauge), plus every prom-client metric constructed in
 * apps/ and libs/ (so one added elsewhere, e.g. the read API's HTTP histogram, counts without
 * being listed here).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createMetricsRegistry, PipelineMetrics } from '@app/observability';
import type { AdminQueues } from '../../apps/read-api/src/admin/admin-queues';
import { QUEUE_JOB_STATES, QueueMetrics } from '../../apps/read-api/src/admin/queue-metrics';
import { HttpMetrics } from '../../apps/read-api/src/http/http-metrics';

const ROOT = join(__dirname, '..', '..');
type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * Agreed metric names (see the team's list) that other branches add while this one is open. The
 * dashboard and alerts use them already; once merged they are exported and need no entry here:
 * empty this list after the merge.
 */
const PENDING_MERGE: Record<string, Kind> = {};

/** Series Prometheus makes itself for every target. */
const SYNTHETIC = new Set(['up']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') && !path.endsWith('.int-spec.ts') ? [path] : [];
  });
}

async function exportedMetrics(): Promise<Map<string, Kind>> {
  const registry = createMetricsRegistry();
  new PipelineMetrics(registry);
  new QueueMetrics(registry, { queues: new Map() } as unknown as AdminQueues).onModuleInit();
  const out = new Map<string, Kind>((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type) as Kind]));
  for (const file of [...sourceFiles(join(ROOT, 'apps')), ...sourceFiles(join(ROOT, 'libs'))]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\b[^(]*\(\s*\{\s*name:\s*['"`]([a-zA-Z_:][a-zA-Z0-9_:]*)['"`]/g)) {
      out.set(m[2], m[1].toLowerCase() as Kind);
    }
  }
  return out;
}

const FUNCTIONS_AND_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** Metric names a PromQL expression selects (labels, functions, strings and durations removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || FUNCTIONS_AND_KEYWORDS.has(m[1].toLowerCase())) continue; // a function call or a keyword
    names.add(m[1]);
  }
  return [...names];
}

/** A referenced series name is exported when it is a metric, or a histogram's/summary's series. */
function isExported(name: string, exported: Map<string, Kind>): boolean {
  if (SYNTHETIC.has(name) || exported.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const kind = exported.get(m[1]);
  return kind === 'histogram' || (kind === 'summary' && m[2] !== 'bucket');
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'enrollment-sync.dashboard.json'), 'utf8'));
const dashboardExprs: { where: string; expr: string }[] = dashboard.panels.flatMap((p: { title: string; targets?: { expr: string }[] }) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
);
const rules: Rule[] = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'enrollment-sync.rules.yaml'), 'utf8')).groups.flatMap((g: { rules: Rule[] }) => g.rules);
const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');

/** A heading's anchor as GitHub and GitLab render Markdown: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
const operationsAnchors = new Set([...operations.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));

describe('metric name extraction from PromQL', () => {
  it('keeps metric names and drops functions, labels, strings, durations and keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{status=~"5..",x="b_c"}[5m]))) / on () count(up == 1) unless absent(c_total offset 5m)',
      ).sort(),
    ).toEqual(['a_bucket', 'c_total', 'up']);
    expect(metricNames('deriv(sum(lag)[15m:1m]) > 0 and lag > 1e4')).toEqual(['lag']);
  });
});

describe('dashboard and alert rules use only exported metrics', () => {
  let exported: Map<string, Kind>;
  beforeAll(async () => {
    exported = await exportedMetrics();
    for (const [name, kind] of Object.entries(PENDING_MERGE)) if (!exported.has(name)) exported.set(name, kind);
  });

  it('finds the code registries (default metrics under standard names, pipeline, queues)', () => {
    expect([...exported.keys()]).toEqual(
      expect.arrayContaining(['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'enrollment_sync_input_messages_total', 'enrollment_sync_queue_jobs']),
    );
  });

  it.each([...dashboardExprs.map((d) => [d.where, d.expr]), ...rules.map((r) => [`alert ${r.alert ?? r.record}`, r.expr])])(
    '%s references exported metrics only',
    (_where, expr) => {
      const names = metricNames(expr);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !isExported(n, exported))).toEqual([]);
    },
  );
});

describe('alert rules', () => {
  const alerts = rules.filter((r) => r.alert);

  it('cover app down, lag growing, outbox stuck, dead letters, parked events, Redis down, failed and stuck jobs, read API errors and latency', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'EnrollmentSyncAppDown',
        'EnrollmentSyncConsumerLagGrowing',
        'EnrollmentSyncOutboxStuck',
        'EnrollmentSyncDeadLetters',
        'EnrollmentSyncOutboxParked',
        'EnrollmentSyncRedisDown',
        'EnrollmentSyncJobsFailed',
        'EnrollmentSyncJobsNotDraining',
        'EnrollmentSyncReadApiErrors',
        'EnrollmentSyncReadApiSlow',
      ]),
    );
  });

  it('watch failed and waiting jobs per queue, and the read API 5xx ratio and p99 on the labels the code exports', () => {
    const expr = (name: string) => alerts.find((a) => a.alert === name)!.expr;
    expect(expr('EnrollmentSyncJobsFailed')).toMatch(/max by \(queue\) \(enrollment_sync_queue_jobs\{state="failed"\}\)/);
    expect(expr('EnrollmentSyncJobsNotDraining')).toMatch(/max by \(queue, state\) \(enrollment_sync_queue_jobs\{state=~"waiting\|prioritized"\}\)/);
    expect(expr('EnrollmentSyncReadApiErrors')).toMatch(/enrollment_sync_http_request_duration_seconds_count\{status=~"5\.\."/);
    expect(expr('EnrollmentSyncReadApiSlow')).toMatch(/histogram_quantile\(0\.99,\s*sum by \(le\) \(rate\(enrollment_sync_http_request_duration_seconds_bucket\{route=~/);
  });

  it('select only labels the metrics have, and queue states the gauge reports', () => {
    const registry = createMetricsRegistry();
    new PipelineMetrics(registry);
    new QueueMetrics(registry, { queues: new Map() } as unknown as AdminQueues).onModuleInit();
    new HttpMetrics(registry);
    const labelsOf = new Map(registry.getMetricsAsArray().map((m) => [m.name, (m as unknown as { labelNames?: string[] }).labelNames ?? []]));
    // Prometheus adds the target's labels to every series; histograms have `le` on their buckets.
    const TARGET = ['job', 'instance'];
    const problems: string[] = [];
    for (const a of alerts) {
      for (const m of a.expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
        const bucket = /_bucket$/.test(m[1]);
        const metric = labelsOf.has(m[1]) ? m[1] : m[1].replace(/_(bucket|count|sum)$/, '');
        const known = labelsOf.get(metric);
        if (!known) continue; // `up` and other series Prometheus makes
        for (const [, label, , value] of m[2].matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
          if (![...known, ...TARGET, ...(bucket ? ['le'] : [])].includes(label)) problems.push(`${a.alert}: ${metric} has no label ${label}`);
          if (metric === 'enrollment_sync_queue_jobs' && label === 'state') {
            for (const state of value.split('|')) if (!(QUEUE_JOB_STATES as readonly string[]).includes(state)) problems.push(`${a.alert}: no queue state ${state}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(labelsOf.get('enrollment_sync_http_request_duration_seconds')).toEqual(['method', 'route', 'status']);
  });

  it('send every runbook_url to one absolute, documented base', () => {
    const urls = alerts.map((a) => new URL(a.annotations!.runbook_url));
    expect(new Set(urls.map((u) => u.protocol))).toEqual(new Set(['https:']));
    const bases = new Set(urls.map((u) => `${u.origin}${u.pathname}`));
    expect(bases.size).toBe(1);
    const [base] = [...bases];
    expect(base).toMatch(/\/docs\/operations\.md$/);
    // The operator sets the base once: docs/operations.md says which string to replace.
    expect(operations).toContain(base);
  });

  it.each(alerts.map((a) => [a.alert!, a]))('%s has a severity, a summary and a runbook in docs/operations.md', (name, a) => {
    expect(['critical', 'warning']).toContain(a.labels?.severity);
    expect(a.annotations?.summary).toBeTruthy();
    expect(operations).toMatch(new RegExp(`^### ${name}$`, 'm'));
    const url = new URL(a.annotations!.runbook_url);
    expect(url.hash).toBe(`#${anchorOf(name)}`);
    expect(operationsAnchors).toContain(url.hash.slice(1));
  });
});

describe('dashboard', () => {
  it('has unique panel ids and every query on the selectable Prometheus data source', () => {
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x: { type: string }) => x.type !== 'row')) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds: { type: 'prometheus', uid: '${datasource}' } });
    }
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
  });
});
