import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = join(__dirname, '../../..');
export const kubernetesDir = join(repoRoot, 'deploy/kubernetes');
export const natsConfPath = join(repoRoot, 'deploy/nats/nats-server.conf');

type Labels = Record<string, string>;
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
interface PodTemplate {
  metadata: { labels: Labels };
  spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } };
}
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
export interface NetworkPolicyRule {
  to?: NetworkPolicyPeer[];
  from?: NetworkPolicyPeer[];
  ports?: { protocol?: string; port?: number }[];
}

/** A Kubernetes object as read from YAML: the fields the specs read, all optional; the schema check vouches for the rest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    serviceName?: string;
    template?: PodTemplate;
    jobTemplate?: { spec: { template: PodTemplate } };
    minAvailable?: number;
    minReplicas?: number;
    maxReplicas?: number;
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    metrics?: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
    clusterIP?: string;
    ports?: { name?: string; port: number; targetPort?: string | number }[];
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: NetworkPolicyRule[];
    egress?: NetworkPolicyRule[];
  };
}

export interface LoadedObject {
  source: string;
  object: KubeObject;
}

/** Every document of one YAML file; a syntax error or warning fails the load. */
export function loadYamlFile(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
    return document.toJS();
  });
}

export const yamlFiles = (): string[] => readdirSync(kubernetesDir).filter((f) => f.endsWith('.yaml')).sort();

export const kustomization = (): { resources: string[]; namespace: string } => loadYamlFile(join(kubernetesDir, 'kustomization.yaml'))[0] as { resources: string[]; namespace: string };

/** The objects `kubectl apply -k deploy/kubernetes` would create, each with the file it came from. */
export function loadManifests(): LoadedObject[] {
  return kustomization().resources.flatMap((file) =>
    loadYamlFile(join(kubernetesDir, file))
      .filter((doc) => doc !== null)
      .map((doc, index) => ({ source: `${file}#${index}`, object: doc as KubeObject })),
  );
}

/** The pod template of a Deployment, StatefulSet, Job or CronJob. */
export const podTemplateOf = (workload: KubeObject): PodTemplate | undefined => workload.spec?.template ?? workload.spec?.jobTemplate?.spec.template;

export function find(objects: LoadedObject[], kind: string, name: string): KubeObject {
  const found = objects.find(({ object }) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found.object;
}

export const ofKind = (objects: LoadedObject[], kind: string): KubeObject[] => objects.filter(({ object }) => object.kind === kind).map(({ object }) => object);

/** Schema errors per object, from the schemas bundled in kubernetes-models (see kubernetes-schemas.mjs). */
export function schemaErrors(objects: LoadedObject[]): { source: string; errors: string[] }[] {
  const output = execFileSync(process.execPath, [join(__dirname, 'kubernetes-schemas.mjs')], { input: JSON.stringify(objects), encoding: 'utf8' });
  return JSON.parse(output) as { source: string; errors: string[] }[];
}
