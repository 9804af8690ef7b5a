/**
 * deploy/k8s: each overlay renders with `kubectl kustomize` (offline), every object is valid
 * against the Kubernetes and KEDA schemas (kubernetes-models), and the manifests agree with the
 * code: every env variable is one the config schema knows, the ConfigMap carries every non-secret
 * one, secrets come only from Secret references, probes, ports, grace periods and autoscaling
 * match the configuration. `npm test` installs kubectl when it is missing (scripts/test.mjs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ENV_SCHEMA, EnvName } from '@app/config';

const ROOT = join(__dirname, '..', '..');
/**
 * What is rendered, and whether it talks to a managed cluster over SASL_SSL
 * (components/kafka-sasl-ssl). The last is the prod overlay with the private-CA component, as
 * docs/operations.md tells an operator to add it.
 */
const OVERLAYS = [
  { overlay: 'dev', dir: 'deploy/k8s/overlays/dev', managedKafka: false },
  { overlay: 'prod', dir: 'deploy/k8s/overlays/prod', managedKafka: true },
  { overlay: 'prod with a private Kafka CA', dir: 'test/deploy/fixtures/k8s-private-ca', managedKafka: true },
];
/** The containers that connect to Kafka (apps and topics.js); the others never read its settings. */
const KAFKA_CONTAINERS = ['topics', 'wait-for-topics', 'sync-worker', 'jobs-worker', 'read-api'];
/** The Secret the apps read their secrets from; prod expects it to exist, dev generates it. */
const APP_SECRET = 'enrollment-sync-secrets';
/** That Secret under its own name, or as kustomize's secretGenerator names it (a content hash appended). */
const isAppSecret = (name: string | undefined) => name === APP_SECRET || new RegExp(`^${APP_SECRET}-[a-z0-9]{10}$`).test(name ?? '');
/** KAFKA_SASL_MECHANISM as KEDA's Kafka scaler names it (`sasl`); kafkajs's `aws` has no match. */
const KEDA_SASL: Record<string, string> = {
  '': 'none',
  plain: 'plaintext',
  'scram-sha-256': 'scram_sha256',
  'scram-sha-512': 'scram_sha512',
  oauthbearer: 'oauthbearer',
};

type Obj = Record<string, any>;

/** kubectl with a kustomize that knows `replacements` and `labels` (kubectl 1.27+ bundles v5). */
function kubectl(): string {
  const probe = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('kubectl is not installed: `npm test` installs it when run as root (scripts/test.mjs); otherwise install kubectl 1.27+');
  }
  const version = JSON.parse(probe.stdout).kustomizeVersion as string | undefined;
  const major = Number(/^v?(\d+)/.exec(version ?? '')?.[1] ?? 0);
  if (major < 5) throw new Error(`kubectl bundles kustomize ${version ?? '(none)'}; deploy/k8s needs kustomize v5 (kubectl 1.27+)`);
  return 'kubectl';
}

function render(dir: string): Obj[] {
  const out = execFileSync(kubectl(), ['kustomize', join(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

/** The kubernetes-models class for an object's apiVersion and kind (core, apps, …, KEDA). */
function modelOf(o: Obj): { validate(): void } {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const module = group === 'keda.sh' ? `@kubernetes-models/keda/keda.sh/${version}/${o.kind}` : `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`;
  // The model's module is named by the manifest's kind at run time: no static import can say it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Model = require(module)[o.kind];
  return new Model(o);
}

const SECRETS = (Object.keys(ENV_SCHEMA) as EnvName[]).filter((k) => (ENV_SCHEMA[k] as { secret?: boolean }).secret);
const NON_SECRETS = (Object.keys(ENV_SCHEMA) as EnvName[]).filter((k) => !SECRETS.includes(k));

/** What each container must be given beyond the ConfigMap: the settings whose default is this machine. */
const NEEDS: Record<string, string[]> = {
  topics: [],
  migrate: ['DATABASE_URL'],
  'wait-for-migrations': ['DATABASE_URL'],
  'wait-for-topics': [],
  'sync-worker': ['DATABASE_URL'],
  'jobs-worker': ['DATABASE_URL', 'REDIS_URL'],
  'read-api': ['DATABASE_URL', 'REDIS_URL', 'API_TOKENS'],
};

describe.each(OVERLAYS)('deploy/k8s overlay $overlay', ({ overlay, dir, managedKafka }) => {
  const objects = render(dir);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${kind}/${name} is missing`);
    return found;
  };
  const config = named('ConfigMap', 'enrollment-sync-config').data as Record<string, string>;
  const podSpecs = [...byKind('Deployment'), ...byKind('Job')].map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec as Obj }));
  const containers = podSpecs.flatMap(({ owner, spec }) => [...(spec.initContainers ?? []), ...spec.containers].map((c: Obj) => ({ owner, c, spec })));
  const deployment = (name: string) => named('Deployment', name);
  const mainContainer = (name: string) => deployment(name).spec.template.spec.containers.find((c: Obj) => c.name === name);

  it('renders only objects that are valid against the Kubernetes and KEDA schemas', () => {
    expect(objects.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const o of objects) {
      try {
        // kustomize wraps long base64 values at 70 columns; the API server's decoder skips the
        // newlines, the schema's "byte" format does not.
        const data =
          o.kind === 'Secret' && o.data ? Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')])) : undefined;
        modelOf(data ? { ...o, data } : o).validate();
      } catch (err) {
        problems.push(`${o.kind}/${o.metadata?.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has the three apps, the read API service, a PDB per app, the migration Job and a NetworkPolicy', () => {
    expect(
      byKind('Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['jobs-worker', 'read-api', 'sync-worker']);
    named('Service', 'read-api');
    named('Job', 'enrollment-sync-migrate');
    expect(byKind('NetworkPolicy')).toHaveLength(1);
    for (const d of byKind('Deployment')) {
      const labels = d.spec.template.metadata.labels;
      const pdbs = byKind('PodDisruptionBudget').filter((p) => Object.entries(p.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v));
      expect({ app: d.metadata.name, pdbs: pdbs.length }).toEqual({ app: d.metadata.name, pdbs: 1 });
    }
  });

  it('sets every non-secret variable of the config schema in the ConfigMap, and only known ones', () => {
    expect(Object.keys(config).sort()).toEqual([...NON_SECRETS].sort());
  });

  it('gives every container only variables the config schema knows, secrets only from Secret references', () => {
    const problems: string[] = [];
    for (const { owner, c } of containers) {
      const where = `${owner} ${c.name}`;
      for (const e of c.env ?? []) {
        if (!(e.name in ENV_SCHEMA)) problems.push(`${where}: ${e.name} is not in the config schema`);
        if (SECRETS.includes(e.name) && !e.valueFrom?.secretKeyRef) problems.push(`${where}: ${e.name} is a secret and must come from a Secret`);
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef?.name !== 'enrollment-sync-config') problems.push(`${where}: envFrom ${JSON.stringify(from)}`);
      }
      if (!(c.envFrom ?? []).some((f: Obj) => f.configMapRef)) problems.push(`${where}: does not read the ConfigMap`);
      const given = new Set((c.env ?? []).map((e: Obj) => e.name));
      const needs = NEEDS[c.name];
      if (!needs) problems.push(`${where}: unknown container (add it to NEEDS)`);
      for (const n of needs ?? []) if (!given.has(n)) problems.push(`${where}: ${n} is not set`);
    }
    expect(problems).toEqual([]);
  });

  it('stores no secret value in a ConfigMap and references only keys the Secret has', () => {
    for (const cm of byKind('ConfigMap')) expect(Object.keys(cm.data ?? {}).filter((k) => SECRETS.includes(k as EnvName))).toEqual([]);
    const refs = containers.flatMap(({ c }) => (c.env ?? []).map((e: Obj) => e.valueFrom?.secretKeyRef).filter(Boolean));
    for (const ref of refs) expect(SECRETS).toContain(ref.key);
    // dev generates its Secret; prod expects it to exist (docs/operations.md).
    for (const s of byKind('Secret').filter((x) => isAppSecret(x.metadata.name))) expect(Object.keys(s.data ?? {}).sort()).toEqual([...SECRETS].sort());
  });

  it("gives every container that talks to Kafka the Kafka secrets from the apps' Secret", () => {
    const problems: string[] = [];
    for (const { owner, c } of containers.filter(({ c }) => KAFKA_CONTAINERS.includes(c.name))) {
      for (const name of ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_AWS_SESSION_TOKEN']) {
        const ref = (c.env ?? []).find((e: Obj) => e.name === name)?.valueFrom?.secretKeyRef;
        if (!isAppSecret(ref?.name) || ref?.key !== name) problems.push(`${owner} ${c.name}: ${name} from ${JSON.stringify(ref ?? null)}`);
      }
    }
    expect(problems).toEqual([]);
    const kafkaCommands = containers.filter(({ c }) => (c.command as string[]).some((a) => /dist\/(scripts\/topics|apps\/.+\/main)\.js$/.test(a)));
    expect(kafkaCommands.map(({ c }) => c.name).sort()).toEqual([...KAFKA_CONTAINERS].sort());
  });

  it('runs commands the image has (dist/ paths built from sources in this repo)', () => {
    for (const { owner, c } of containers) {
      const script = (c.command as string[]).find((a) => a.startsWith('dist/'));
      expect(`${owner} ${c.name}: ${script}`).toMatch(/: dist\/.+\.js$/);
      const source = script!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(`${source} ${existsSync(join(ROOT, source)) ? 'exists' : 'is missing'}`).toBe(`${source} exists`);
    }
  });

  it('probes each app on its configured port: /health/live for liveness, /health/ready for readiness', () => {
    const ports: Record<string, string> = {
      'sync-worker': config.SYNC_WORKER_METRICS_PORT,
      'jobs-worker': config.JOBS_WORKER_METRICS_PORT,
      'read-api': config.API_PORT,
    };
    for (const [app, port] of Object.entries(ports)) {
      const c = mainContainer(app);
      const portOf = (p: string | number) => (typeof p === 'number' ? p : c.ports.find((x: Obj) => x.name === p)?.containerPort);
      expect({ app, live: c.livenessProbe.httpGet.path, ready: c.readinessProbe.httpGet.path, startup: c.startupProbe.httpGet.path }).toEqual({
        app,
        live: '/health/live',
        ready: '/health/ready',
        startup: '/health/live',
      });
      expect({ app, port: portOf(c.livenessProbe.httpGet.port) }).toEqual({ app, port: Number(port) });
      expect({ app, port: portOf(c.readinessProbe.httpGet.port) }).toEqual({ app, port: Number(port) });
    }
  });

  it('gives every pod longer to stop than the apps drain (SHUTDOWN_TIMEOUT_MS, plus any preStop sleep)', () => {
    for (const d of byKind('Deployment')) {
      const spec = d.spec.template.spec;
      const preStop = spec.containers.map((c: Obj) => Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0)).reduce((a: number, b: number) => Math.max(a, b), 0);
      const graceMs = spec.terminationGracePeriodSeconds * 1000;
      expect({ app: d.metadata.name, fits: graceMs > Number(config.SHUTDOWN_TIMEOUT_MS) + preStop * 1000 }).toEqual({ app: d.metadata.name, fits: true });
    }
  });

  it('locks every pod down: non-root, seccomp RuntimeDefault, read-only root, no escalation, no capabilities, /tmp an emptyDir', () => {
    const problems: string[] = [];
    for (const { owner, spec } of podSpecs) {
      const pod = spec.securityContext ?? {};
      if (pod.runAsNonRoot !== true || pod.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${owner}: pod securityContext ${JSON.stringify(pod)}`);
      if (spec.automountServiceAccountToken !== false) problems.push(`${owner}: mounts a service account token`);
    }
    for (const { owner, c, spec } of containers) {
      const sc = c.securityContext ?? {};
      const ok = sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true && JSON.stringify(sc.capabilities?.drop) === '["ALL"]';
      if (!ok) problems.push(`${owner} ${c.name}: securityContext ${JSON.stringify(sc)}`);
      const tmp = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === '/tmp');
      const vol = tmp && spec.volumes?.find((v: Obj) => v.name === tmp.name);
      if (!vol?.emptyDir) problems.push(`${owner} ${c.name}: no writable /tmp`);
      const r = c.resources ?? {};
      if (!r.requests?.cpu || !r.requests?.memory || !r.limits?.memory) problems.push(`${owner} ${c.name}: resources ${JSON.stringify(r)}`);
    }
    expect(problems).toEqual([]);
  });

  it('runs topics and migrations once in a Job that the apps wait for', () => {
    const job = named('Job', 'enrollment-sync-migrate').spec;
    expect({ parallelism: job.parallelism, completions: job.completions, podReplacementPolicy: job.podReplacementPolicy }).toEqual({
      parallelism: 1,
      completions: 1,
      podReplacementPolicy: 'Failed',
    });
    const commands = [...job.template.spec.initContainers, ...job.template.spec.containers].map((c: Obj) => c.command.slice(1, 3).join(' '));
    expect(commands).toEqual(['dist/scripts/topics.js create', 'dist/scripts/migrate.js up']);
    for (const d of byKind('Deployment')) {
      const waits = (d.spec.template.spec.initContainers ?? []).map((c: Obj) => c.command.slice(1).join(' '));
      expect({ app: d.metadata.name, waits: waits.includes('dist/scripts/migrate.js wait') }).toEqual({ app: d.metadata.name, waits: true });
    }
    expect(deployment('sync-worker').spec.template.spec.initContainers.map((c: Obj) => c.command[1])).toContain('dist/scripts/topics.js');
  });

  it('scales the sync worker with KEDA on its consumer group lag over the four input topics, within the partitions', () => {
    const so = named('ScaledObject', 'sync-worker').spec;
    expect(so.scaleTargetRef.name).toBe('sync-worker');
    expect(so.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.maxReplicaCount).toBeLessThanOrEqual(Number(config.TOPIC_PARTITIONS));
    expect(so.triggers.every((t: Obj) => t.type === 'kafka')).toBe(true);
    expect(new Set(so.triggers.map((t: Obj) => t.metadata.consumerGroup))).toEqual(new Set([config.KAFKA_GROUP_ID]));
    expect(new Set(so.triggers.map((t: Obj) => t.metadata.bootstrapServers))).toEqual(new Set([config.KAFKA_BROKERS]));
    expect(so.triggers.map((t: Obj) => t.metadata.topic).sort()).toEqual(
      [config.TOPIC_COURSES, config.TOPIC_MEMBERSHIPS, config.TOPIC_LESSON_PROGRESS, config.TOPIC_USERS].sort(),
    );
    expect(deployment('sync-worker').spec.replicas).toBeUndefined();
  });

  it("gives KEDA's Kafka triggers the apps' Kafka security: one TriggerAuthentication, the same Secret key and user", () => {
    const triggers = (named('ScaledObject', 'sync-worker').spec.triggers as Obj[]).filter((t) => t.type === 'kafka');
    const secured = config.KAFKA_SSL === 'true' || config.KAFKA_SASL_MECHANISM !== '';
    expect({ overlay, secured }).toEqual({ overlay, secured: managedKafka });
    if (!secured) {
      expect(triggers.map((t) => t.authenticationRef ?? null)).toEqual(triggers.map(() => null));
      expect(byKind('TriggerAuthentication')).toEqual([]);
      return;
    }
    const refs = new Set(triggers.map((t) => JSON.stringify(t.authenticationRef ?? null)));
    expect([...refs]).toHaveLength(1);
    const ref = triggers[0].authenticationRef as Obj;
    expect(ref?.kind ?? 'TriggerAuthentication').toBe('TriggerAuthentication');
    const auth = named('TriggerAuthentication', ref.name).spec;
    for (const key of Object.keys(auth)) expect(['secretTargetRef', 'env']).toContain(key);

    // Each parameter once, with where KEDA reads it from.
    const params = [
      ...(auth.secretTargetRef ?? []).map((r: Obj) => ({ parameter: r.parameter as string, secret: r.name as string, key: r.key as string })),
      ...(auth.env ?? []).map((e: Obj) => ({ parameter: e.parameter as string, env: e.name as string, container: e.containerName as string })),
    ];
    expect(params.map((p) => p.parameter).sort()).toEqual([...new Set(params.map((p) => p.parameter))].sort());
    const param = (name: string) => params.find((p) => p.parameter === name);
    const secretValue = (p: { secret?: string; key?: string } | undefined) => {
      const secret = byKind('Secret').find((s) => s.metadata.name === p?.secret);
      const data = secret?.data?.[p!.key!] as string | undefined;
      return data === undefined ? undefined : Buffer.from(data.replace(/\s/g, ''), 'base64').toString('utf8');
    };

    expect(KEDA_SASL).toHaveProperty([config.KAFKA_SASL_MECHANISM]);
    expect({ sasl: secretValue(param('sasl')), tls: secretValue(param('tls')) }).toEqual({
      sasl: KEDA_SASL[config.KAFKA_SASL_MECHANISM],
      tls: config.KAFKA_SSL === 'true' ? 'enable' : 'disable',
    });

    // TLS with client certificates only (KAFKA_SASL_MECHANISM empty): no user, no password.
    const sasl = config.KAFKA_SASL_MECHANISM !== '';
    expect({ username: !!param('username'), password: !!param('password') }).toEqual({ username: sasl, password: sasl });
    if (sasl) {
      // The password: the very Secret key the sync worker reads as KAFKA_SASL_PASSWORD.
      const passwordRef = mainContainer('sync-worker').env.find((e: Obj) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef;
      expect({ appSecret: isAppSecret(passwordRef?.name), key: passwordRef?.key }).toEqual({ appSecret: true, key: 'KAFKA_SASL_PASSWORD' });
      expect(param('password')).toEqual({ parameter: 'password', secret: passwordRef.name, key: passwordRef.key });

      // The user: the sync-worker container's KAFKA_SASL_USERNAME, which it takes from the ConfigMap.
      expect(param('username')).toEqual({ parameter: 'username', env: 'KAFKA_SASL_USERNAME', container: 'sync-worker' });
      expect(mainContainer('sync-worker').envFrom).toContainEqual({ configMapRef: { name: 'enrollment-sync-config' } });
      expect(config.KAFKA_SASL_USERNAME).not.toBe('');
    }

    // A private CA for the apps is a private CA for KEDA too: the same key of the same Secret,
    // mounted where KAFKA_SSL_CA_FILE points in every container that talks to Kafka.
    const ca = param('ca');
    expect({ ca: ca !== undefined }).toEqual({ ca: config.KAFKA_SSL_CA_FILE !== '' });
    if (ca) {
      expect(config.KAFKA_SSL_CA_FILE.endsWith(`/${ca.key}`)).toBe(true);
      for (const { owner, c, spec } of containers.filter(({ c }) => KAFKA_CONTAINERS.includes(c.name))) {
        const mount = (c.volumeMounts ?? []).find((m: Obj) => config.KAFKA_SSL_CA_FILE === `${m.mountPath}/${ca.key}`);
        const secret = spec.volumes?.find((v: Obj) => v.name === mount?.name)?.secret?.secretName;
        expect({ container: `${owner} ${c.name}`, secret }).toEqual({ container: `${owner} ${c.name}`, secret: ca.secret });
      }
    }
    const podSpec = deployment('sync-worker').spec.template.spec;

    // Every Secret key KEDA reads is one the apps read too: a key of a Secret this overlay renders,
    // a key of the apps' Secret (prod expects it created beforehand), or a Secret the sync worker mounts.
    const mounted = new Set((podSpec.volumes ?? []).map((v: Obj) => v.secret?.secretName).filter(Boolean));
    for (const p of params.filter((x) => x.secret)) {
      const rendered = byKind('Secret').find((s) => s.metadata.name === p.secret);
      const found = rendered ? Object.keys(rendered.data ?? {}).includes(p.key) : isAppSecret(p.secret) ? SECRETS.includes(p.key) : mounted.has(p.secret);
      expect({ p, found }).toEqual({ p, found: true });
    }
  });

  it('scales the jobs worker on BullMQ queue depth and the read API with an HPA', () => {
    const so = named('ScaledObject', 'jobs-worker').spec;
    expect(so.scaleTargetRef.name).toBe('jobs-worker');
    expect(so.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.triggers[0]).toMatchObject({ type: 'prometheus', metadata: { query: expect.stringContaining('enrollment_sync_queue_jobs{state=~"waiting') } });
    const hpa = named('HorizontalPodAutoscaler', 'read-api').spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'read-api' });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(1);
    for (const app of ['jobs-worker', 'read-api']) expect(deployment(app).spec.replicas).toBeUndefined();
  });

  it('lets traffic reach the read API port and every app pod is covered by the NetworkPolicy', () => {
    const np = byKind('NetworkPolicy')[0].spec;
    for (const d of byKind('Deployment')) {
      const labels = d.spec.template.metadata.labels;
      expect(Object.entries(np.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v)).toBe(true);
    }
    const ingressPorts = np.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port));
    expect(ingressPorts).toEqual(expect.arrayContaining([Number(config.API_PORT), Number(config.SYNC_WORKER_METRICS_PORT), Number(config.JOBS_WORKER_METRICS_PORT)]));
    expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
  });
});
