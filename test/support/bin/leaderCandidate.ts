// A process that campaigns for a lease and prints "leading"/"standby" transitions, so tests can kill it with
// SIGKILL the way a crashed operator dies: no cleanup, no lease release.
import * as k8s from '@kubernetes/client-node';
import { startLeaderElection } from '../../../src/adapters/kubernetes/leaderElection.ts';

const [kubeconfig, namespace, identity] = process.argv.slice(2) as [string, string, string];
const config = new k8s.KubeConfig();
config.loadFromFile(kubeconfig);
startLeaderElection(config, {
  namespace,
  name: 'cairn-operator',
  identity,
  leaseDurationMs: 4_000,
  renewDeadlineMs: 3_000,
  retryPeriodMs: 500,
  onStartedLeading: () => process.stdout.write('leading\n'),
  onStoppedLeading: () => process.stdout.write('standby\n'),
  onError: (error) => process.stderr.write(`${String(error)}\n`),
});
