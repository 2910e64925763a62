/**
 * KWOK stages for Cairn's local control plane: they play the kubelet for pods and nodes on KWOK nodes.
 *
 * Cairn ships its own complete set rather than KWOK's defaults because the defaults pick among matching stages at
 * random by weight; here every pod state has exactly one stage that applies, so a fault appears every time and a
 * healthy pod never fails. Faults are driven by what a pod or node *is* (its image, its memory limit, a label),
 * so the remediation that changes that thing really clears the fault. docs/faults.md describes each one.
 */

/** Marks that trigger faults. Keep docs/faults.md in step with these. */
export const FaultMarks = {
  /** An image reference containing this crashes on start (CrashLoopBackOff; a Job's pod fails). */
  crashImage: 'broken',
  /** An image reference containing this cannot be pulled (ErrImagePull, then ImagePullBackOff). */
  missingImage: 'nonexistent',
  /** Pod annotation: the memory the app really needs; a container whose memory limit is below it is OOMKilled. */
  workingSet: 'fault.cairn.dev/memory-working-set',
  /** Pod label: the pod runs but its readiness probe fails until the pod is replaced or the label removed. */
  wedged: 'fault.cairn.dev/wedged',
  /**
   * Pod annotation naming a ConfigMap the pod's containers read (the fault helper adds the real envFrom reference
   * too): KWOK cannot look ConfigMaps up, so this says it is missing and the containers wait in
   * CreateContainerConfigError with the kubelet's message.
   */
  missingConfig: 'fault.cairn.dev/missing-config',
  /** Node label: the node's kubelet stops reporting Ready. */
  nodeDown: 'fault.cairn.dev/not-ready',
  /** Node label, `disk` or `memory`: the kubelet reports that pressure condition True. */
  nodePressure: 'fault.cairn.dev/pressure',
} as const;

type Stage = {
  apiVersion: 'kwok.x-k8s.io/v1alpha1';
  kind: 'Stage';
  metadata: { name: string };
  spec: {
    resourceRef: { apiGroup: 'v1'; kind: 'Pod' | 'Node' };
    selector: { matchExpressions: { jq: { key: string; operator: 'In'; values: ['true'] } }[] };
    delay?: { durationMilliseconds: number; jitterDurationMilliseconds?: number };
    next: {
      statusTemplate?: string;
      delete?: boolean;
      event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
    };
  };
};

// Selectors are jq predicates over the object's JSON, each of which must be true. (KWOK's CEL environment only
// knows a few core types, so lists of conditions and container statuses are out of its reach.)
const toBytes =
  'def bytes: capture("^(?<n>[0-9.]+)(?<u>[KMGT]i?)?$") | (.n | tonumber) * ' +
  '({"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776}[.u // ""]);';

const stage = (
  name: string,
  kind: 'Pod' | 'Node',
  when: string[],
  next: Stage['spec']['next'],
  /** Each run waits a random time between these bounds, in milliseconds. */
  delayMs?: [min: number, max: number],
): Stage => ({
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind: 'Stage',
  metadata: { name: `cairn-${name}` },
  spec: {
    resourceRef: { apiGroup: 'v1', kind },
    selector: {
      matchExpressions: when.map((predicate) => ({
        jq: {
          key: predicate.includes('bytes') ? `${toBytes} ${predicate}` : predicate,
          operator: 'In',
          values: ['true'],
        },
      })),
    },
    ...(delayMs ? { delay: { durationMilliseconds: delayMs[0], jitterDurationMilliseconds: delayMs[1] } } : {}),
    next,
  },
});

const alive = '.metadata.deletionTimestamp == null';
const anyImage = (mark: string) => `any(.spec.containers[]; .image | contains("${mark}"))`;
const oom =
  `(.metadata.annotations["${FaultMarks.workingSet}"] // null) as $need | $need != null and ` +
  'any(.spec.containers[]; (.resources.limits.memory // null) as $limit | $limit != null and ($limit | bytes) < ($need | bytes))';
const crashes = `((${anyImage(FaultMarks.crashImage)}) or (${oom}))`;
const pullFails = anyImage(FaultMarks.missingImage);
const configMissing = `((.metadata.annotations["${FaultMarks.missingConfig}"] // "") != "")`;
// The kubelet pulls images before it builds the containers' configuration: an unpullable image shows first.
const blockedOnConfig = `((${configMissing}) and ((${pullFails}) | not))`;
const healthy = `((${crashes}) or (${pullFails}) or (${configMissing}) | not)`;
const hasLabel = (key: string) => `.metadata.labels["${key}"] == "true"`;
const wedged = hasLabel(FaultMarks.wedged);
const phase = (...phases: string[]) => `(${phases.map((p) => `.status.phase == "${p}"`).join(' or ')})`;
const condition = (type: string, status: string) =>
  `any(.status.conditions[]?; .type == "${type}" and .status == "${status}")`;
const someContainerState = (state: string) => `any(.status.containerStatuses[]?; .state.${state} != null)`;
const noContainerState = (state: string) => `(${someContainerState(state)} | not)`;
const someContainerWaiting = (reason: string) =>
  `any(.status.containerStatuses[]?; .state.waiting.reason == "${reason}")`;
const ownedByJob = 'any(.metadata.ownerReferences[]?; .kind == "Job")';
const not = (predicate: string) => `(${predicate} | not)`;

// Go-template fragments for status documents.
const podConditions = (ready: boolean) => `
conditions:
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "${ready ? 'True' : 'False'}", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "${ready ? 'True' : 'False'}", lastTransitionTime: {{ $now | Quote }}}`;

/** One containerStatuses entry per container; `state` is a template fragment that may use $c, $prev and $now. */
const containerStatuses = (entry: string) => `
containerStatuses:
{{ range $i, $c := .spec.containers }}
{{ $prev := dict }}{{ if $root.status.containerStatuses }}{{ if lt $i (len $root.status.containerStatuses) }}{{ $prev = index $root.status.containerStatuses $i }}{{ end }}{{ end }}
- name: {{ $c.name | Quote }}
  image: {{ $c.image | Quote }}
  imageID: {{ printf "cairn.local/%s" $c.image | Quote }}
${entry
  .trim()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
{{ end }}`;

const template = (body: string) => `{{ $now := Now }}{{ $root := . }}\n${body.trim()}\n`;

const podStages = (): Stage[] => [
  stage(
    'pod-create',
    'Pod',
    [alive, '.spec.nodeName != null', '.status.podIP == null'],
    {
      event: { type: 'Normal', reason: 'Pulled', message: 'Container image is present on the node' },
      statusTemplate: template(`
phase: Pending
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
startTime: {{ $now | Quote }}
${podConditions(false)}
${containerStatuses(`
ready: false
started: false
restartCount: 0
state: {waiting: {reason: ContainerCreating}}`)}`),
    },
    [200, 500],
  ),
  stage(
    'pod-start',
    'Pod',
    [alive, '.status.podIP != null', phase('Pending'), healthy, someContainerWaiting('ContainerCreating')],
    {
      event: { type: 'Normal', reason: 'Started', message: 'Started container' },
      statusTemplate: template(`
phase: Running
${podConditions(true)}
${containerStatuses(`
ready: true
started: true
restartCount: {{ or $prev.restartCount 0 }}
state: {running: {startedAt: {{ $now | Quote }}}}`)}`),
    },
    [300, 800],
  ),
  stage(
    'pod-job-complete',
    'Pod',
    [alive, ownedByJob, phase('Running'), condition('Ready', 'True'), healthy, not(wedged)],
    {
      statusTemplate: template(`
phase: Succeeded
${podConditions(false)}
${containerStatuses(`
ready: false
started: false
restartCount: {{ or $prev.restartCount 0 }}
state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}`)}`),
    },
    [1000, 1500],
  ),
  // A crashing container terminates; with restartPolicy Never the pod fails for good (a Job counts a failure),
  // otherwise the back-off stage below restarts it, so restartCount keeps growing as on a real kubelet.
  stage(
    'pod-crash',
    'Pod',
    // An image that cannot be pulled never runs, so it cannot crash either.
    [
      alive,
      '.status.podIP != null',
      phase('Pending', 'Running'),
      crashes,
      not(pullFails),
      not(configMissing),
      noContainerState('terminated'),
    ],
    {
      statusTemplate: template(`
{{ $oom := false }}{{ with .metadata.annotations }}{{ if index . "${FaultMarks.workingSet}" }}{{ $oom = true }}{{ end }}{{ end }}
phase: {{ if eq .spec.restartPolicy "Never" }}Failed{{ else }}Running{{ end }}
${podConditions(false)}
${containerStatuses(`
ready: false
started: false
restartCount: {{ or $prev.restartCount 0 }}
{{ if $prev.lastState }}lastState: {{ toJson $prev.lastState }}{{ end }}
state:
  terminated:
    startedAt: {{ $now | Quote }}
    finishedAt: {{ $now | Quote }}
    {{ if $oom }}exitCode: 137
    reason: OOMKilled{{ else if contains "${FaultMarks.crashImage}" $c.image }}exitCode: 1
    reason: Error
    message: "process exited with status 1"{{ else }}exitCode: 0
    reason: Completed{{ end }}`)}`),
    },
    [1500, 2500],
  ),
  stage(
    'pod-crash-backoff',
    'Pod',
    [alive, phase('Running'), crashes, someContainerState('terminated')],
    {
      event: { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container' },
      statusTemplate: template(`
${containerStatuses(`
ready: false
started: false
restartCount: {{ add1 (or $prev.restartCount 0) }}
lastState: {{ if $prev.state.terminated }}{{ toJson (dict "terminated" $prev.state.terminated) }}{{ else }}{}{{ end }}
state: {waiting: {reason: CrashLoopBackOff, message: {{ printf "back-off restarting failed container %s" $c.name | Quote }}}}`)}`),
    },
    [2000, 3000],
  ),
  stage(
    'pod-pull-fail',
    'Pod',
    [alive, '.status.podIP != null', phase('Pending'), pullFails, not(someContainerWaiting('ErrImagePull'))],
    {
      event: { type: 'Warning', reason: 'Failed', message: 'Failed to pull image: manifest unknown' },
      statusTemplate: template(`
${containerStatuses(`
ready: false
started: false
restartCount: 0
state: {waiting: {reason: {{ if contains "${FaultMarks.missingImage}" $c.image }}ErrImagePull{{ else }}ContainerCreating{{ end }}, message: {{ printf "failed to pull and unpack image %s: not found" $c.image | Quote }}}}`)}`),
    },
    [800, 1200],
  ),
  stage(
    'pod-pull-backoff',
    'Pod',
    [alive, phase('Pending'), pullFails, someContainerWaiting('ErrImagePull')],
    {
      event: { type: 'Normal', reason: 'BackOff', message: 'Back-off pulling image' },
      statusTemplate: template(`
${containerStatuses(`
ready: false
started: false
restartCount: 0
state: {waiting: {reason: {{ if contains "${FaultMarks.missingImage}" $c.image }}ImagePullBackOff{{ else }}ContainerCreating{{ end }}, message: {{ printf "Back-off pulling image %s" $c.image | Quote }}}}`)}`),
    },
    [2500, 3000],
  ),
  // The kubelet cannot build the container's environment: it never creates the container, says why in the
  // waiting state (the API's NotFound for the ConfigMap, as the kubelet's ConfigMap manager reports it) and in a
  // Failed Warning Event, and tries again later; the pod stays Pending until the ConfigMap exists or the reference
  // goes (here: until the annotation goes, with a new pod).
  stage(
    'pod-config-missing',
    'Pod',
    [alive, '.status.podIP != null', phase('Pending'), blockedOnConfig, someContainerWaiting('ContainerCreating')],
    {
      event: { type: 'Warning', reason: 'Failed', message: 'Error: CreateContainerConfigError' },
      statusTemplate: template(`
{{ $missing := index .metadata.annotations "${FaultMarks.missingConfig}" }}
${containerStatuses(`
ready: false
started: false
restartCount: 0
state: {waiting: {reason: CreateContainerConfigError, message: {{ printf "configmap %q not found" $missing | Quote }}}}`)}`),
    },
    [300, 600],
  ),
  stage(
    'pod-wedge',
    'Pod',
    [alive, phase('Running'), healthy, wedged, condition('Ready', 'True')],
    {
      event: {
        type: 'Warning',
        reason: 'Unhealthy',
        message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      },
      statusTemplate: template(`
${podConditions(false)}
${containerStatuses(`
ready: false
started: true
restartCount: {{ or $prev.restartCount 0 }}
state: {{ toJson $prev.state }}`)}`),
    },
    [500, 800],
  ),
  stage(
    'pod-unwedge',
    'Pod',
    [
      alive,
      phase('Running'),
      healthy,
      not(wedged),
      condition('Ready', 'False'),
      noContainerState('waiting'),
      noContainerState('terminated'),
    ],
    {
      statusTemplate: template(`
${podConditions(true)}
${containerStatuses(`
ready: true
started: true
restartCount: {{ or $prev.restartCount 0 }}
state: {{ toJson $prev.state }}`)}`),
    },
    [500, 800],
  ),
  stage(
    'pod-delete',
    'Pod',
    ['.metadata.deletionTimestamp != null', '(.metadata.finalizers // []) | length == 0'],
    { delete: true },
    [100, 300],
  ),
];

const nodeDown = hasLabel(FaultMarks.nodeDown);
const nodeReady = condition('Ready', 'True');

const nodeStatus = (ready: boolean) =>
  template(`
phase: Running
conditions:
{{ $pressure := "" }}{{ with .metadata.labels }}{{ with index . "${FaultMarks.nodePressure}" }}{{ $pressure = . }}{{ end }}{{ end }}
{{ range $type := list "MemoryPressure" "DiskPressure" "PIDPressure" "NetworkUnavailable" }}
{{ if or (and (eq $type "DiskPressure") (eq $pressure "disk")) (and (eq $type "MemoryPressure") (eq $pressure "memory")) }}
- {type: {{ $type }}, status: "True", reason: {{ printf "KubeletHas%s" $type | Quote }}, message: {{ printf "kubelet has %s pressure" $pressure | Quote }}, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
{{ else }}
- {type: {{ $type }}, status: "False", reason: {{ printf "KubeletHasNo%s" $type | Quote }}, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
{{ end }}
{{ end }}
- type: Ready
  status: "${ready ? 'True' : 'False'}"
  reason: ${ready ? 'KubeletReady' : 'KubeletNotReady'}
  message: ${ready ? '"kubelet is posting ready status"' : '"container runtime is down: PLEG is not healthy"'}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
addresses:
- {type: InternalIP, address: {{ NodeIP | Quote }}}
- {type: Hostname, address: {{ NodeName | Quote }}}
{{ with NodePort }}daemonEndpoints: {kubeletEndpoint: {Port: {{ . }}}}{{ end }}
capacity: {{ with .status.capacity }}{{ toJson . }}{{ else }}{cpu: "32", memory: 128Gi, pods: "110"}{{ end }}
allocatable: {{ with .status.allocatable }}{{ toJson . }}{{ else }}{cpu: "32", memory: 128Gi, pods: "110"}{{ end }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
  kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
  containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
  kernelVersion: {{ printf "kwok-%s" Version | Quote }}
  osImage: kwok
  bootID: ""
  machineID: ""
  systemUUID: ""`);

/** The node's pressure conditions disagree with its pressure label: the kubelet would report the change now. */
const pressureLabel = `(.metadata.labels["${FaultMarks.nodePressure}"] // "")`;
const pressureStale =
  `((${pressureLabel} == "disk") != ${condition('DiskPressure', 'True')}) or ` +
  `((${pressureLabel} == "memory") != ${condition('MemoryPressure', 'True')})`;

const nodeStages = (): Stage[] => [
  stage('node-ready', 'Node', [not(nodeReady), not(nodeDown)], { statusTemplate: nodeStatus(true) }, [100, 200]),
  // Leases carry the liveness signal; this keeps the conditions' heartbeat fresh for readers that look at it.
  stage(
    'node-heartbeat',
    'Node',
    [nodeReady, not(nodeDown), not(pressureStale)],
    { statusTemplate: nodeStatus(true) },
    [30_000, 40_000],
  ),
  stage(
    'node-pressure',
    'Node',
    [nodeReady, not(nodeDown), pressureStale],
    { statusTemplate: nodeStatus(true) },
    [100, 300],
  ),
  stage(
    'node-fail',
    'Node',
    [nodeReady, nodeDown],
    {
      event: {
        type: 'Warning',
        reason: 'NodeNotReady',
        message: 'Node is not ready: kubelet stopped posting ready status',
      },
      statusTemplate: nodeStatus(false),
    },
    [500, 800],
  ),
];

export const localClusterStages = (): Stage[] => [...podStages(), ...nodeStages()];
