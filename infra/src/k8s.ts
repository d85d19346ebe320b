import { execFileSync } from 'node:child_process';
import * as models from 'kubernetes-models';

/**
 * Offline validation of rendered manifests against the Kubernetes API's OpenAPI schemas as
 * published by kubernetes-models (pinned in the catalog: 5.1.0 carries the Kubernetes 1.34+ API,
 * e.g. resource.k8s.io/v1). A resource whose kind has no schema there is refused.
 */
type Model = { new (data: unknown): { validate(): void } };
type Namespace = { [name: string]: Namespace } & Partial<Model>;

/** `apps/v1` → models.apps.v1; `networking.k8s.io/v1` → models.networkingK8sIo.v1; `v1` → models.v1. */
function modelFor(apiVersion: string, kind: string): Model | undefined {
  const parts = apiVersion.split('/');
  const path =
    parts.length === 1 ? parts : [parts[0]!.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase()), parts[1]!];
  let current = models as unknown as Namespace | undefined;
  for (const part of [...path, kind])
    current = Object.hasOwn(current ?? {}, part) ? current?.[part] : undefined;
  return current as Model | undefined;
}

export function validateResource(resource: {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}): void {
  const Model = modelFor(resource.apiVersion, resource.kind);
  if (!Model) throw new Error(`${resource.apiVersion} ${resource.kind}: no schema in kubernetes-models`);
  try {
    new Model(resource).validate();
  } catch (error) {
    throw new Error(`${resource.kind}/${resource.metadata?.name}: ${(error as Error).message}`);
  }
}

/** kubectl renders Kustomize (built in since 1.14); .ci/run installs Debian's when none is present. */
export function kustomizeBinary(): string {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return 'kubectl';
  } catch {
    throw new Error('kubectl is needed to render infra/k8s (apt-get install kubernetes-client)');
  }
}
