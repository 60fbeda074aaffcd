import { AuditConfigSchema, loadAuditConfig } from '@portcullis/audit';
import { AuditStream } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyConfigSchema, loadEdgeProxyConfig } from '@portcullis/edge-proxy';
import { IdentityConfigSchema, loadIdentityConfig } from '@portcullis/identity';
import { loadRegistryConfig, RegistryConfigSchema } from '@portcullis/registry';
import { loadTokenVaultConfig, TokenVaultConfigSchema } from '@portcullis/token-vault';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { unknownFieldErrors } from './kubernetes-fields';
import {
  find,
  type KubeObject,
  kustomization,
  type LabelSelector,
  type LoadedObject,
  loadManifests,
  natsConfPath,
  type NetworkPolicyRule,
  ofKind,
  podTemplateOf,
  schemaErrors,
  yamlFiles,
} from './manifests';

/** Each service, the config schema its main.ts loads, and the port setting it listens on. */
const services = [
  { name: 'edge-proxy', schema: EdgeProxyConfigSchema, load: loadEdgeProxyConfig, portSetting: 'EDGE_PORT', publicPort: 8080, outbound: true, database: false },
  // identity fetches identity providers' OpenID discovery documents and JWKS (OidcDiscoveryClient, JwksCache).
  { name: 'identity', schema: IdentityConfigSchema, load: loadIdentityConfig, portSetting: 'IDENTITY_PORT', publicPort: undefined, outbound: true, database: true },
  { name: 'token-vault', schema: TokenVaultConfigSchema, load: loadTokenVaultConfig, portSetting: 'VAULT_PORT', publicPort: undefined, outbound: true, database: true },
  // The registry lists an upstream's tools when a server is saved (UpstreamToolsClient), so it goes out too.
  { name: 'registry', schema: RegistryConfigSchema, load: loadRegistryConfig, portSetting: 'REGISTRY_PORT', publicPort: 8081, outbound: true, database: true },
  { name: 'audit', schema: AuditConfigSchema, load: loadAuditConfig, portSetting: 'AUDIT_PORT', publicPort: 8082, outbound: false, database: true },
] as const;
type Service = (typeof services)[number];

/**
 * Settings a Deployment passes that its service's config does not read yet. The edge and the
 * vault do not take NATS credentials yet (issue 9: identity, registry and audit do); once they
 * do, this list empties and the check keeps it so.
 */
const NOT_READ_YET: Record<Service['name'], string[]> = {
  'edge-proxy': [],
  identity: [],
  'token-vault': [],
  registry: [],
  audit: [],
};

const objects: LoadedObject[] = loadManifests();
const natsConf = readFileSync(natsConfPath, 'utf8');

const containerOf = (workload: KubeObject) => {
  const containers = podTemplateOf(workload)?.spec.containers ?? [];
  expect(containers).toHaveLength(1);
  return containers[0];
};

/** The environment a pod of `workload` starts with: its ConfigMaps, Secrets and literal values. */
function environmentOf(workload: KubeObject): Record<string, string> {
  const container = containerOf(workload);
  const env: Record<string, string> = {};
  const secret = (name: string) => find(objects, 'Secret', name).stringData ?? {};
  const configMap = (name: string) => find(objects, 'ConfigMap', name).data ?? {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, configMap(source.configMapRef.name));
    if (source.secretRef) Object.assign(env, secret(source.secretRef.name));
  }
  for (const variable of container.env ?? []) {
    const { secretKeyRef, configMapKeyRef, fieldRef } = variable.valueFrom ?? {};
    const value =
      variable.value ??
      (secretKeyRef && secret(secretKeyRef.name)[secretKeyRef.key]) ??
      (configMapKeyRef && configMap(configMapKeyRef.name)[configMapKeyRef.key]) ??
      (fieldRef && `<${fieldRef.fieldPath}>`);
    if (value === undefined) throw new Error(`${workload.metadata.name}: ${variable.name} refers to nothing`);
    env[variable.name] = value;
  }
  return env;
}

/** The keys of a config schema (the object inside the edge's transform too). */
function settingsOf(schema: z.ZodType): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodType>;
  if (schema instanceof z.ZodPipe) return settingsOf(schema.in as z.ZodType);
  throw new Error('unexpected config schema shape');
}

/** What has neither a default nor `optional`: the service will not start without it. */
const requiredSettings = (schema: z.ZodType) =>
  Object.entries(settingsOf(schema))
    .filter(([, setting]) => !setting.safeParse(undefined).success)
    .map(([name]) => name);

/** A usable secret: a parseable keyring or a long random-looking run. Placeholders are neither. */
function looksLikeRealSecret(value: string): boolean {
  try {
    Keyring.parse(value, 'secret');
    return true;
  } catch {
    return /[A-Za-z0-9+/_-]{20,}={0,2}/.test(value.replace(/REPLACE_WITH_[A-Z_]*/g, ''));
  }
}

const keyringFor = () => `k1:${randomBytes(32).toString('base64')}`;

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return values.includes(labels[key]);
    if (operator === 'NotIn') return !values.includes(labels[key]);
    if (operator === 'Exists') return key in labels;
    return !(key in labels);
  });
  return byLabel && byExpression;
}

/** The rules of every NetworkPolicy that applies to pods labelled `labels` in `direction`. */
function rulesFor(labels: Record<string, string>, direction: 'Ingress' | 'Egress'): NetworkPolicyRule[] {
  return ofKind(objects, 'NetworkPolicy')
    .filter((policy) => selects(policy.spec?.podSelector, labels) && policy.spec?.policyTypes?.includes(direction))
    .flatMap((policy) => (direction === 'Ingress' ? policy.spec?.ingress : policy.spec?.egress) ?? []);
}

const podLabels = (workload: KubeObject) => podTemplateOf(workload)?.metadata.labels ?? {};
const workloads = () => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].flatMap((kind) => ofKind(objects, kind));
const allowsPort = (rule: NetworkPolicyRule, port: number, protocol = 'TCP') =>
  rule.ports === undefined || rule.ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port));
const natsPodLabels = () => podLabels(find(objects, 'StatefulSet', 'nats'));
const egressToPods = (labels: Record<string, string>, target: Record<string, string>, port: number) =>
  rulesFor(labels, 'Egress').some((rule) => allowsPort(rule, port) && (rule.to ?? []).some((peer) => !peer.ipBlock && !peer.namespaceSelector && selects(peer.podSelector, target)));
const internetEgress = (labels: Record<string, string>) => rulesFor(labels, 'Egress').flatMap((rule) => rule.to ?? []).filter((peer) => peer.ipBlock?.cidr === '0.0.0.0/0');

/** NATS users of deploy/nats/nats-server.conf and the variable each one's password comes from. */
const natsUsers = new Map([...natsConf.matchAll(/user:\s*"([^"]+)"\s*\n\s*password:\s*\$(\w+)/g)].map((m) => [m[1], m[2]]));

describe('deploy/kubernetes', () => {
  it('applies every YAML file in the folder, each in the portcullis namespace', () => {
    const { resources, namespace } = kustomization();
    expect([...resources].sort()).toEqual(yamlFiles().filter((file) => file !== 'kustomization.yaml'));
    expect(namespace).toBe('portcullis');
    for (const { source, object } of objects) {
      if (object.kind !== 'Namespace') expect({ source, namespace: object.metadata.namespace }).toEqual({ source, namespace: 'portcullis' });
    }
  });

  it('passes the Kubernetes schema of its kind, for every object (bundled schemas, offline)', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(schemaErrors(objects).filter((result) => result.errors.length > 0)).toEqual([]);
  });

  it('has a schema check that catches wrong types and missing required fields', () => {
    const deployment = structuredClone(find(objects, 'Deployment', 'registry'));
    const container = containerOf(deployment);
    container.ports = [{ name: 'http', containerPort: 'eighty-eighty' as unknown as number }];
    const hpa = structuredClone(find(objects, 'HorizontalPodAutoscaler', 'registry'));
    delete hpa.spec?.scaleTargetRef;
    const unknownKind: KubeObject = { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'typo' } };
    const results = schemaErrors([deployment, hpa, unknownKind].map((object, index) => ({ source: `broken#${index}`, object })));
    expect(results.map((result) => result.errors.join(' '))).toEqual([
      expect.stringContaining('containerPort must be integer'),
      expect.stringContaining('scaleTargetRef'),
      expect.stringContaining('no schema for apps/v1 Deploymnet'),
    ]);
  });

  it('has no field the Kubernetes API does not know, at any depth', () => {
    expect(unknownFieldErrors(objects).filter((result) => result.errors.length > 0)).toEqual([]);
  });

  it('has a field check that catches misspelt and retired fields', () => {
    const deployment = structuredClone(find(objects, 'Deployment', 'registry'));
    const container = containerOf(deployment) as ReturnType<typeof containerOf> & { readinesProbe?: unknown };
    container.readinesProbe = container.readinessProbe;
    const hpa = structuredClone(find(objects, 'HorizontalPodAutoscaler', 'registry'));
    Object.assign(hpa.spec ?? {}, { targetCPUUtilizationPercentage: 70 });
    const policy = structuredClone(find(objects, 'NetworkPolicy', 'nats'));
    Object.assign(policy.spec ?? {}, { ingres: [] });
    const results = unknownFieldErrors([deployment, hpa, policy].map((object, index) => ({ source: `broken#${index}`, object })));
    expect(results.map((result) => result.errors.join(' '))).toEqual([
      expect.stringContaining("'\"readinesProbe\"' does not exist in type 'IContainer'"),
      expect.stringContaining("'\"targetCPUUtilizationPercentage\"' does not exist"),
      expect.stringContaining("'\"ingres\"' does not exist in type 'INetworkPolicySpec'"),
    ]);
  });

  describe.each(services.map((service) => [service.name, service] as const))('%s', (name, service) => {
    const deployment = find(objects, 'Deployment', name);
    const container = containerOf(deployment);
    const env = environmentOf(deployment);
    const port = Number(env[service.portSetting]);

    it('runs two replicas of the image deploy/Dockerfile builds, with its main.js', () => {
      expect(deployment.spec?.replicas).toBe(2);
      expect(container.image).toBe('portcullis');
      expect(container.command).toEqual(['node', `dist/apps/${name}/main.js`]);
      expect(port).toBeGreaterThan(0);
      expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port })]);
    });

    it('probes liveness on /healthz and readiness on /readyz, the paths the service serves', () => {
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    });

    it('requests and limits CPU and memory', () => {
      expect(container.resources).toEqual({
        requests: { cpu: expect.any(String), memory: expect.any(String) },
        limits: { cpu: expect.any(String), memory: expect.any(String) },
      });
    });

    it('runs non-root on a read-only root file system without privilege escalation or capabilities', () => {
      expect(deployment.spec?.template?.spec.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000 }));
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    });

    it('has a PodDisruptionBudget keeping one replica and a CPU HorizontalPodAutoscaler', () => {
      const pdb = find(objects, 'PodDisruptionBudget', name);
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec?.minAvailable).toBe(1);
      expect(selects(pdb.spec?.selector, podLabels(deployment))).toBe(true);
      const hpa = find(objects, 'HorizontalPodAutoscaler', name);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.spec?.minReplicas).toBe(2);
      expect(hpa.spec?.maxReplicas).toBeGreaterThan(2);
      expect(hpa.spec?.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);
      expect(selects(deployment.spec?.selector, podLabels(deployment))).toBe(true);
    });

    it("sets every setting the service's config requires, and the config loads from it", () => {
      expect(requiredSettings(service.schema).filter((setting) => !(setting in env))).toEqual([]);
      // The keyrings are placeholders; swap in real ones, as the operator will.
      const filled = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, key.endsWith('_KEYS') ? keyringFor() : value]));
      expect(() => service.load(filled)).not.toThrow();
    });

    it('passes only settings the service reads (besides the shared ConfigMap)', () => {
      const ownSecret = container.envFrom?.find((source) => source.secretRef)?.secretRef?.name;
      const passed = [...(container.env ?? []).map((variable) => variable.name), ...Object.keys(ownSecret ? (find(objects, 'Secret', ownSecret).stringData ?? {}) : {})];
      const read = Object.keys(settingsOf(service.schema));
      expect(passed.filter((setting) => !read.includes(setting)).sort()).toEqual(NOT_READ_YET[name]);
    });

    it('connects to NATS as its own user with that user’s password alone', () => {
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(env.NATS_USER).toBe(name);
      const passwordRef = container.env?.find((variable) => variable.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef;
      expect(passwordRef).toEqual({ name: 'nats-users', key: natsUsers.get(name) });
    });

    it('is reachable from outside only on its public port, if it has one', () => {
      const ingress = rulesFor(podLabels(deployment), 'Ingress');
      if (service.publicPort === undefined) {
        expect(ingress).toEqual([]);
        expect(objects.some(({ object }) => object.kind === 'Service' && object.metadata.name === name)).toBe(false);
        return;
      }
      expect(port).toBe(service.publicPort);
      expect(ingress.some((rule) => rule.from === undefined && allowsPort(rule, port))).toBe(true);
      const svc = find(objects, 'Service', name);
      expect(svc.spec?.ports).toEqual([{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }]);
      expect(selects({ matchLabels: svc.spec?.selector as Record<string, string> }, podLabels(deployment))).toBe(true);
    });

    it('may reach DNS and NATS; PostgreSQL only if it keeps data; the internet only if it calls out', () => {
      const labels = podLabels(deployment);
      expect(rulesFor(labels, 'Egress').some((rule) => allowsPort(rule, 53, 'UDP') && allowsPort(rule, 53, 'TCP'))).toBe(true);
      expect(egressToPods(labels, natsPodLabels(), 4222)).toBe(true);
      const postgres = rulesFor(labels, 'Egress').filter((rule) => rule.ports?.some((p) => p.port === 5432) && rule.to?.some((peer) => peer.ipBlock));
      expect(postgres.length > 0).toBe(service.database);
      expect('DATABASE_URL' in env).toBe(service.database);
      const internet = internetEgress(labels);
      expect(internet.length > 0).toBe(service.outbound);
      for (const peer of internet) expect(peer.ipBlock?.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
    });
  });

  it('runs every workload (NATS and the jobs too) non-root and read-only, with CPU and memory requested and limited', () => {
    expect(workloads().map((workload) => workload.metadata.name).sort()).toEqual([
      'audit', 'audit-retention', 'edge-proxy', 'identity', 'nats', 'nats-audit-stream', 'registry', 'token-vault',
    ]);
    for (const workload of workloads()) {
      const name = workload.metadata.name;
      expect({ name, pod: podTemplateOf(workload)?.spec.securityContext }).toEqual({ name, pod: expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000 }) });
      const container = containerOf(workload);
      expect({ name, container: container.securityContext }).toEqual({ name, container: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } });
      expect({ name, resources: container.resources }).toEqual({
        name,
        resources: { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { cpu: expect.any(String), memory: expect.any(String) } },
      });
    }
  });

  it('runs audit retention monthly as the audit schema owner, reaching only PostgreSQL and DNS', () => {
    const cronJob = find(objects, 'CronJob', 'audit-retention');
    const container = containerOf(cronJob);
    expect(container.image).toBe('portcullis');
    expect((container.args ?? []).join(' ')).toMatch(/^exec node dist\/apps\/audit\/retention\.js --before "\$\(date -u -d '-\d+ days' \+%Y-%m-%dT00:00:00Z\)"$/);
    const env = environmentOf(cronJob);
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/audit_owner:/);
    const labels = podLabels(cronJob);
    const egress = rulesFor(labels, 'Egress');
    expect(egress.some((rule) => rule.ports?.some((p) => p.port === 5432))).toBe(true);
    expect(egressToPods(labels, natsPodLabels(), 4222)).toBe(false);
    expect(internetEgress(labels)).toEqual([]);
    expect(rulesFor(labels, 'Ingress')).toEqual([]);
  });

  it('denies all ingress and egress by default', () => {
    const defaultDeny = ofKind(objects, 'NetworkPolicy').find((policy) => JSON.stringify(policy.spec?.podSelector) === '{}' && !policy.spec?.ingress && !policy.spec?.egress);
    expect(defaultDeny?.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('lets only the services and the AUDIT stream Job reach NATS clients, and only NATS reach its routes', () => {
    const nats = natsPodLabels();
    const ingress = rulesFor(nats, 'Ingress');
    const admittedOn = (port: number, labels: Record<string, string>) => ingress.some((rule) => allowsPort(rule, port) && (rule.from ?? []).some((peer) => selects(peer.podSelector, labels)));
    for (const service of services) expect(admittedOn(4222, podLabels(find(objects, 'Deployment', service.name)))).toBe(true);
    expect(admittedOn(4222, podLabels(find(objects, 'Job', 'nats-audit-stream')))).toBe(true);
    expect(admittedOn(4222, { 'app.kubernetes.io/name': 'intruder' })).toBe(false);
    expect(admittedOn(6222, nats)).toBe(true);
    for (const service of services) expect(admittedOn(6222, podLabels(find(objects, 'Deployment', service.name)))).toBe(false);
    expect(ingress.every((rule) => rule.from !== undefined)).toBe(true);
    expect(egressToPods(nats, nats, 6222)).toBe(true);
    expect(internetEgress(nats)).toEqual([]);
  });

  it('ships Secrets as templates: placeholders only, nothing usable as a key or password', () => {
    const secrets = ofKind(objects, 'Secret');
    expect(secrets.map((secret) => secret.metadata.name).sort()).toEqual(['audit-owner-secrets', 'audit-secrets', 'edge-proxy-secrets', 'identity-secrets', 'nats-users', 'registry-secrets', 'token-vault-secrets']);
    for (const secret of secrets) {
      expect(secret.data).toBeUndefined();
      for (const [key, value] of Object.entries(secret.stringData ?? {})) {
        expect({ secret: secret.metadata.name, key, placeholder: value.includes('REPLACE_WITH_') }).toEqual({ secret: secret.metadata.name, key, placeholder: true });
        expect({ secret: secret.metadata.name, key, real: looksLikeRealSecret(value) }).toEqual({ secret: secret.metadata.name, key, real: false });
      }
    }
    // The detector itself: a generated keyring or password would be caught.
    expect(looksLikeRealSecret(keyringFor())).toBe(true);
    expect(looksLikeRealSecret(`REPLACE_WITH_${randomBytes(32).toString('hex')}`)).toBe(true);
    expect(looksLikeRealSecret(`postgres://audit:${randomBytes(24).toString('base64url')}@db:5432/portcullis`)).toBe(true);
  });

  it("carries VAULT_KEYS, IDENTITY_KEYS and SESSION_KEYS only to the service that uses each", () => {
    const keyHolders = (key: string) => services.filter((service) => key in environmentOf(find(objects, 'Deployment', service.name))).map((service) => service.name);
    expect(keyHolders('VAULT_KEYS')).toEqual(['token-vault']);
    expect(keyHolders('IDENTITY_KEYS')).toEqual(['identity']);
    expect(keyHolders('SESSION_KEYS')).toEqual(['edge-proxy']);
  });

  describe('NATS', () => {
    const configMap = find(objects, 'ConfigMap', 'nats-config');
    const statefulSet = find(objects, 'StatefulSet', 'nats');
    const clusterConf = configMap.data?.['cluster.conf'] ?? '';

    it("uses deploy/nats/nats-server.conf as it is: the same users and subject permissions", () => {
      expect(configMap.data?.['nats-server.conf']).toBe(natsConf);
      expect(clusterConf).toMatch(/^include \.\/nats-server\.conf$/m);
      expect([...natsUsers.keys()].sort()).toEqual(services.map((service) => service.name).sort());
    });

    it('is a three-server JetStream cluster with a route to each server by its stable name', () => {
      expect(statefulSet.spec?.replicas).toBe(3);
      const headless = find(objects, 'Service', statefulSet.spec?.serviceName ?? '');
      expect(headless.spec?.clusterIP).toBe('None');
      const routes = [...clusterConf.matchAll(/nats:\/\/([\w.-]+):6222/g)].map((m) => m[1]);
      expect(routes).toEqual([0, 1, 2].map((ordinal) => `nats-${ordinal}.${headless.metadata.name}`));
      expect(clusterConf).toMatch(/server_name: \$POD_NAME/);
      const env = environmentOf(statefulSet);
      expect(env.NATS_STORE_DIR).toMatch(/^\/data\//);
      expect(find(objects, 'PodDisruptionBudget', 'nats').spec?.minAvailable).toBe(2);
    });

    it('gives the servers every user password the config reads, from the nats-users Secret', () => {
      const env = environmentOf(statefulSet);
      for (const variable of natsUsers.values()) expect(env[variable]).toBeDefined();
      expect(Object.keys(find(objects, 'Secret', 'nats-users').stringData ?? {}).sort()).toEqual([...natsUsers.values()].sort());
    });

    it('replicates the AUDIT stream three times (the Job, as the audit user on its own inbox)', () => {
      const job = find(objects, 'Job', 'nats-audit-stream');
      const container = containerOf(job);
      const script = (container.args ?? []).join('\n');
      expect(script).toContain(`nats stream add ${AuditStream.name} --subjects '${AuditStream.subjectPrefix}.>' --storage file --replicas 3`);
      expect(script).toContain(`nats stream edit ${AuditStream.name} --replicas 3`);
      expect(script).toContain('--inbox-prefix _INBOX_audit');
      const env = environmentOf(job);
      expect(env.NATS_USER).toBe('audit');
      expect(container.env?.find((variable) => variable.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'nats-users', key: natsUsers.get('audit') });
      const auditPermissions = natsConf.slice(natsConf.indexOf('user: "audit"'));
      for (const subject of ['$JS.API.STREAM.INFO.AUDIT', '$JS.API.STREAM.CREATE.AUDIT', '$JS.API.STREAM.UPDATE.AUDIT', '_INBOX_audit.>']) expect(auditPermissions).toContain(`"${subject}"`);
    });
  });
});
