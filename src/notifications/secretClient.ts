import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import * as k8s from '@kubernetes/client-node';

type Context = Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0];

/** What decides whether two of the client's agents would open the same kind of connection. */
const agentKey = (agent: HttpAgent): string => {
  const o = (agent as HttpAgent & { options: Record<string, unknown> }).options;
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]
    .map((v) => (v === undefined || v === null ? '' : Buffer.isBuffer(v) ? v.toString('base64') : String(v)))
    .join('\u0000');
};

/**
 * The client's authentication, with one keep-alive agent instead of the fresh agent the client makes per request:
 * a fresh agent means a new TLS handshake and a new TLS context for every Secret read, which under a burst of
 * sends costs most of the operator's CPU and leaves its native memory fragmented. The agent is replaced when the
 * credentials it was made with change (a rotated client certificate); proxy agents are left as the client made them.
 */
export function keepAliveAuthentication(config: k8s.KubeConfig) {
  let shared: { key: string; agent: HttpAgent } | undefined;
  return {
    getName: () => 'kubeconfig authentication, keep-alive',
    applySecurityAuthentication: async (context: Context): Promise<void> => {
      await config.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (fresh === undefined || (fresh.constructor !== HttpsAgent && fresh.constructor !== HttpAgent)) return;
      const key = `${fresh.constructor === HttpsAgent ? 'https' : 'http'}\u0000${agentKey(fresh)}`;
      if (shared?.key !== key) {
        const options = { ...(fresh as HttpAgent & { options: object }).options, keepAlive: true, maxSockets: 8 };
        shared = { key, agent: fresh.constructor === HttpsAgent ? new HttpsAgent(options) : new HttpAgent(options) };
      }
      context.setAgent(shared.agent);
    },
  };
}

/** A CoreV1 client whose requests share one connection pool (see keepAliveAuthentication). */
export function keepAliveCoreApi(config: k8s.KubeConfig): k8s.CoreV1Api {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  return new k8s.CoreV1Api(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: keepAliveAuthentication(config) },
    }),
  );
}
