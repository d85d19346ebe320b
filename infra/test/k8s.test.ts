import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kustomizeBinary, validateResource } from '../src/k8s.js';

const overlay = fileURLToPath(new URL('../k8s/overlays/production', import.meta.url));

type Resource = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: unknown };

/** The production overlay as kubectl would apply it (rendered offline, no cluster). */
function render(): Resource[] {
  const yaml = execFileSync(kustomizeBinary(), ['kustomize', overlay], { encoding: 'utf8', stdio: 'pipe' });
  return parseAllDocuments(yaml).map((doc) => doc.toJS() as Resource);
}

const resources = render();
const find = (kind: string, name: string) => {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found;
};
const podSpecs = resources.flatMap((r) => {
  const name = `${r.kind}/${r.metadata.name}`;
  if (r.kind === 'Deployment' || r.kind === 'Job') return [{ name, pod: r.spec.template.spec }];
  if (r.kind === 'CronJob') return [{ name, pod: r.spec.jobTemplate.spec.template.spec }];
  return [];
});
/** Containers and init containers (native sidecars included) of a pod. */
const containersOf = (pod: any): any[] => [...(pod.initContainers ?? []), ...pod.containers];

describe('Kubernetes manifests (infra/k8s, production overlay)', () => {
  it('every resource validates against the Kubernetes API schema of kubernetes-models', () => {
    expect(resources.length).toBeGreaterThanOrEqual(15);
    for (const resource of resources) expect(() => validateResource(resource)).not.toThrow();
  });

  it('the validation catches a broken manifest', () => {
    const broken = structuredClone(find('Deployment', 'ingest-api'));
    broken.spec.replicas = 'three';
    expect(() => validateResource(broken)).toThrow(/replicas/);
    expect(() =>
      validateResource({ apiVersion: 'example.com/v1', kind: 'Nope', metadata: { name: 'x' } }),
    ).toThrow(/no schema/);
  });

  it('runs every container non-root, read-only, without capabilities', () => {
    for (const { name, pod } of podSpecs) {
      expect({ name, nonRoot: pod.securityContext?.runAsNonRoot }).toEqual({ name, nonRoot: true });
      for (const container of containersOf(pod)) {
        expect({ name, securityContext: container.securityContext }).toMatchObject({
          name,
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
        });
        expect(container.resources?.requests).toBeDefined();
      }
    }
  });

  it('probes the API on /ready and /health, scales it on CPU and keeps one pod through disruptions', () => {
    const api = find('Deployment', 'ingest-api').spec.template.spec.containers[0];
    expect(api.readinessProbe.httpGet.path).toBe('/ready');
    expect(api.livenessProbe.httpGet.path).toBe('/health');
    expect(find('HorizontalPodAutoscaler', 'ingest-api').spec).toMatchObject({
      minReplicas: 3,
      maxReplicas: 20,
    });
    expect(find('PodDisruptionBudget', 'ingest-api').spec.minAvailable).toBe(1);
  });

  it('scales the worker on the queue depth it exports', () => {
    const hpa = find('HorizontalPodAutoscaler', 'worker').spec;
    expect(hpa.metrics[0].external.metric.name).toBe('prospectflow_worker_queue_ready');
    expect(find('Deployment', 'worker').spec.template.spec.containers[0].ports[0].containerPort).toBe(9464);
    expect(find('PodDisruptionBudget', 'worker').spec.maxUnavailable).toBe(1);
  });

  it('has a migration Job, pgBouncer with TLS on both sides, and references secrets without values', () => {
    expect(find('Job', 'prospectflow-migrate').spec.template.spec.containers[0].command).toEqual([
      'node',
      'dist/cli.js',
      'migrate',
    ]);
    const bouncer = find('Deployment', 'pgbouncer').spec.template.spec.containers[0];
    const env = Object.fromEntries(
      bouncer.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({ CLIENT_TLS_SSLMODE: 'require', SERVER_TLS_SSLMODE: 'verify-full' });
    expect(resources.filter((r) => r.kind === 'Secret')).toEqual([]);
    for (const { pod } of podSpecs) {
      for (const container of containersOf(pod)) {
        for (const variable of container.env ?? []) {
          if (/URL|SECRET|SEED|PASSWORD/.test(variable.name) && variable.name !== 'PUBLIC_BASE_URL') {
            expect({ name: variable.name, from: Object.keys(variable.valueFrom ?? {}) }).toEqual({
              name: variable.name,
              from: ['secretKeyRef'],
            });
          }
        }
      }
    }
  });

  it('gives the API and the worker what they refuse to start without, and an identity for the uploads bucket', () => {
    for (const name of ['ingest-api', 'worker']) {
      const pod = find('Deployment', name).spec.template.spec;
      type Variable = { name: string; valueFrom?: { secretKeyRef?: Record<string, unknown> } };
      const env = new Map<string, Variable>(pod.containers[0].env.map((e: Variable) => [e.name, e]));
      // Required in production by both (outreach-core's loadSubjectKeys): a secret, never optional.
      expect(env.get('PRIVACY_HMAC_KEYS')?.valueFrom?.secretKeyRef, name).toEqual({
        name: 'prospectflow-secrets',
        key: 'PRIVACY_HMAC_KEYS',
      });
      // STORAGE_DRIVER=s3: IRSA / pod identity on a ServiceAccount of their own, or optional keys.
      expect(find('ServiceAccount', pod.serviceAccountName).metadata.name, name).toBe('prospectflow-app');
      expect(pod.automountServiceAccountToken, name).toBe(false);
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
        expect(env.get(key)?.valueFrom?.secretKeyRef, `${name} ${key}`).toMatchObject({
          key,
          optional: true,
        });
    }
    expect(find('ConfigMap', 'prospectflow-config').data).toMatchObject({ STORAGE_DRIVER: 's3' });
    // Both read mailbox credentials through one key provider: without one nothing could be connected.
    expect(find('ConfigMap', 'prospectflow-config').data).toMatchObject({
      SECRETS_PROVIDER: 'kms',
      SECRETS_KMS_KEY_ID: expect.stringMatching(/^(alias\/|arn:aws:kms:)/),
      AWS_REGION: expect.any(String),
    });
  });

  it('pins every image to a tag in production', () => {
    for (const { pod } of podSpecs) {
      for (const container of containersOf(pod)) expect(container.image).toMatch(/[:@]/);
    }
  });

  it('backs up to the bucket and checks a restore on schedules, exporting both results as metrics', () => {
    const schedules = Object.fromEntries(
      ['prospectflow-backup', 'prospectflow-restore-check'].map((name) => {
        const cron = find('CronJob', name).spec;
        expect({ name, timeZone: cron.timeZone, concurrency: cron.concurrencyPolicy }).toEqual({
          name,
          timeZone: 'Etc/UTC',
          concurrency: 'Forbid',
        });
        return [name, cron];
      }),
    );
    const command = (name: string) =>
      schedules[name].jobTemplate.spec.template.spec.containers[0].command.join(' ');
    expect(command('prospectflow-backup')).toBe('node dist/cli.js backup');
    expect(command('prospectflow-restore-check')).toBe('node dist/cli.js restore-check');
    // The restore check restores into a throw-away PostgreSQL beside it, reachable on 127.0.0.1 only.
    const sidecar = schedules['prospectflow-restore-check'].jobTemplate.spec.template.spec.initContainers[0];
    expect(sidecar).toMatchObject({ restartPolicy: 'Always', image: expect.stringMatching(/^postgres:18/) });
    expect(sidecar.args).toContain('listen_addresses=127.0.0.1');
    const checkConfig = find('ConfigMap', 'restore-check-config').data as Record<string, string>;
    expect(checkConfig.RESTORE_CHECK_ADMIN_URL).toBe('postgres://postgres@127.0.0.1:5432/postgres');
    expect(checkConfig.RESTORE_CHECK_DATABASE).toMatch(/_restore_check$/);
    expect(find('ConfigMap', 'backups-config').data).toMatchObject({
      BACKUP_STORAGE_DRIVER: 's3',
      BACKUP_BUCKET_RETENTION_DAYS: '30',
    });
    const metrics = find('Deployment', 'backup-metrics').spec.template.spec.containers[0];
    expect(metrics.command).toEqual(['node', 'dist/cli.js', 'serve']);
    expect(metrics.env.some((e: { name: string }) => /SCHEDULE/.test(e.name))).toBe(false);
    expect(find('Service', 'backup-metrics').spec.ports[0].port).toBe(9465);
  });
});
