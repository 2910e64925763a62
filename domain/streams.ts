/** Stream names are `<category>-<id>`; everything that names a stream goes through here. */
export const StreamCategory = {
  Issue: 'issue',
  Remediation: 'remediation',
  Correlation: 'correlation',
  Slo: 'slo',
  /** One Issue measured against the IncidentSLA that matched it when it was detected; the id is the Issue's. */
  Sla: 'sla',
  Approval: 'approval',
  Chaos: 'chaos',
  Anomaly: 'anomaly',
  PostMortem: 'postmortem',
  /** What Cairn learnt of a workload's revisions; the id is `<kind>.<namespace>.<name>`. */
  Revision: 'revision',
  /** One notification group: a NotificationPolicy rule and one value of its group key (a hash of both). */
  Notification: 'notification',
  /** The escalation of one Issue through the levels of an EscalationPolicy; the id is the Issue's. */
  Escalation: 'escalation',
} as const;
export type StreamCategory = (typeof StreamCategory)[keyof typeof StreamCategory];

export const streamName = (category: StreamCategory, id: string): string => {
  if (id.length === 0) throw new Error(`stream id for category ${category} is empty`);
  return `${category}-${id}`;
};

export const parseStreamName = (stream: string): { category: string; id: string } => {
  const dash = stream.indexOf('-');
  if (dash <= 0 || dash === stream.length - 1) throw new Error(`not a stream name: ${stream}`);
  return { category: stream.slice(0, dash), id: stream.slice(dash + 1) };
};
