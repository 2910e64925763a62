/**
 * What sealing costs a snapshot: its size in the SnapshotTaken event before and after, and the CPU time to seal
 * and open one (medians). The data key's round trips to the API server (read the key-encryption key, create the
 * data-key Secret, read the key-encryption key again: about three requests per snapshot, none for a snapshot
 * without secret values) are not included. Prints `name=value unit` lines.
 *
 *   node --import tsx bench/snapshotSealing.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { countSecretValues, newKey, sealCaptured, unsealCaptured } from '../src/actions/snapshotSealing.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 2_000);

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const probe = (path: string) => ({
  httpGet: { path, port: 8080 },
  periodSeconds: 10,
  timeoutSeconds: 2,
  failureThreshold: 3,
});

/** A typical web Deployment: an app container with a dozen env values (a few of them credentials), a sidecar. */
const deploymentSpec = {
  replicas: 3,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  selector: { matchLabels: { app: 'checkout' } },
  strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  template: {
    metadata: {
      labels: { app: 'checkout', version: '1.4.2' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
    },
    spec: {
      serviceAccountName: 'checkout',
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/shop/checkout:1.4.2',
          args: ['--listen=:8080', '--metrics=:9090', '--db-password', 'pr0d-Pa55word!'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [
            { name: 'PORT', value: '8080' },
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'DB_HOST', value: 'postgres.shop.svc' },
            { name: 'DB_USER', value: 'checkout' },
            { name: 'DB_PASS', value: 'pr0d-Pa55word!' },
            { name: 'AWS_KEY', value: 'AKIAIOSFODNN7EXAMPLE' },
            { name: 'AWS_SECRET', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
            { name: 'PAYMENT_API_URL', value: 'https://payments.internal/v2' },
            { name: 'FEATURE_FLAGS', value: 'new-cart,fast-checkout' },
            { name: 'TZ', value: 'Europe/Paris' },
            { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          readinessProbe: probe('/ready'),
          livenessProbe: probe('/healthz'),
          volumeMounts: [{ name: 'config', mountPath: '/etc/checkout', readOnly: true }],
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
        {
          name: 'proxy',
          image: 'registry.example.com/infra/envoy:1.31',
          args: ['--config-path', '/etc/envoy/envoy.yaml'],
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'checkout', defaultMode: 420 } }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
    },
  },
};

const captured = {
  'Deployment/shop/checkout': {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    name: 'checkout',
    namespace: 'shop',
    existed: true,
    resourceVersion: '918273',
    fields: { spec: deploymentSpec },
  },
  'HorizontalPodAutoscaler/shop/checkout': {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v2',
    name: 'checkout',
    namespace: 'shop',
    existed: true,
    resourceVersion: '918200',
    fields: {
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' },
        minReplicas: 3,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    },
  },
};

const keyId = 'rem-3f9a1c2e7b4d-snapshot';
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

const key = newKey();
const sealed = sealCaptured(captured, keyId, key);
report('snapshot_secret_values', countSecretValues(captured), 'values');
report('snapshot_bytes_plain', size(captured), 'bytes');
report('snapshot_bytes_sealed', size(sealed), 'bytes');
report('snapshot_growth', (size(sealed) / size(captured) - 1) * 100, '%', 1);

const keys = new Map([[keyId, key]]);
// Warm up the JIT and the cipher contexts before measuring.
for (let i = 0; i < 200; i++) unsealCaptured(sealCaptured(captured, keyId, key), keys);
const sealTimes: number[] = [];
const openTimes: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const t0 = performance.now();
  const s = sealCaptured(captured, keyId, key);
  const t1 = performance.now();
  unsealCaptured(s, keys);
  openTimes.push(performance.now() - t1);
  sealTimes.push(t1 - t0);
}
report('seal_median', median(sealTimes) * 1000, 'us');
report('unseal_median', median(openTimes) * 1000, 'us');
