import * as k8s from '@kubernetes/client-node';

const statusOf = (error: unknown): number | undefined =>
  (error as { code?: number; statusCode?: number })?.code ?? (error as { statusCode?: number })?.statusCode;

/**
 * The operator's own namespace holds its Lease and its snapshot keys: without it leader election would retry a 404
 * forever and nothing would ever lead. Created when Cairn may; otherwise start-up stops here and says what to
 * create. When Cairn may not even read namespaces (a tight ClusterRole), it carries on: the Lease's own errors
 * will tell.
 */
export async function ensureOperatorNamespace(
  config: k8s.KubeConfig,
  name: string,
  log: (line: string) => void = () => {},
): Promise<'exists' | 'created' | 'unknown'> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  try {
    await core.readNamespace({ name });
    return 'exists';
  } catch (error) {
    if (statusOf(error) !== 404) return 'unknown';
  }
  try {
    await core.createNamespace({ body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'cairn' } } } });
    log(`created namespace ${name} for the operator's lease and keys`);
    return 'created';
  } catch (error) {
    const status = statusOf(error);
    if (status === 409) return 'exists';
    if (status === 401 || status === 403) {
      throw new Error(
        `the operator's namespace "${name}" does not exist and Cairn may not create it: ` +
          `run \`kubectl create namespace ${name}\`, or start Cairn with --namespace naming one that exists`,
      );
    }
    throw new Error(`cannot create the operator's namespace "${name}"`, { cause: error });
  }
}
