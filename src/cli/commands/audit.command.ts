import * as k8s from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { eventCatalogue } from '../../../domain/events/catalogue.ts';
import { DEFAULT_EVENT_STORE_URL } from '../../adapters/eventstore/eventStore.factory.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  AuditExportFormat,
  auditLogEntries,
  auditRecordFilter,
  formatCsvHeader,
  formatCsvRow,
  formatJsonLine,
  toAuditRecord,
  verifyAuditChain,
} from '../../application/auditChain.ts';
import { auditEventResources, auditEventsMismatch, checkAuditEventObjects } from '../../audit/auditEvents.module.ts';
import { type AuditableEventStore, type EventStore, isAuditableEventStore } from '../../ports/eventStore.ts';

export type Write = (text: string) => void;
const stdout: Write = (text) => {
  process.stdout.write(text);
};

/**
 * `cairn audit verify` proves the hash chain; `cairn audit export` writes it out. Verify also demands a link for
 * every event the catalogue marks as audited (actions, approvals, rollbacks, the Issue's lifecycle), which is what
 * Cairn's stores write; --links-only checks the links present without that demand.
 */
export function registerAuditCommand(program: Command, write: Write = stdout): void {
  const audit = program.command('audit').description('verify and export the tamper-evident audit trail');

  audit
    .command('verify')
    .description('recompute the audit hash chain and report the first broken link')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .option(
      '--links-only',
      'check only the links present, not that every event has one (for stores that audit a subset)',
    )
    .option(
      '--audit-events <namespace>',
      "also check that every AuditEvent object in this namespace (the operator's) matches the chain",
    )
    .option('--kubeconfig <path>', 'kubeconfig for --audit-events (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .action(async (opts: { store: string; linksOnly?: boolean; auditEvents?: string; kubeconfig?: string }) => {
      await withAuditableStore(opts.store, async (store) => {
        const result = await verifyAuditChain(
          store,
          opts.linksOnly === true ? {} : { isAudited: eventCatalogue.isAudited },
        );
        if (result.ok) {
          write(`audit chain ok: ${result.links} links, head ${result.headHash}\n`);
          if (opts.auditEvents !== undefined) {
            const config = new k8s.KubeConfig();
            if (opts.kubeconfig) config.loadFromFile(opts.kubeconfig);
            else config.loadFromDefault();
            const objects = await auditEventResources(config).list(opts.auditEvents);
            const check = await checkAuditEventObjects(store, objects);
            if (!check.ok) throw auditEventsMismatch(check, opts.auditEvents);
            write(`AuditEvent objects ok: ${check.objects} in ${opts.auditEvents} match the chain\n`);
          }
          return;
        }
        const b = result.broken;
        throw new CairnError(
          'audit.chain_broken',
          ErrorCategory.IllegalState,
          `audit chain broken at position ${b.position} (stream ${b.stream}, event ${b.eventId}): ${b.reason}; ` +
            `expected hash ${b.expectedHash ?? '(none)'}, actual ${b.actualHash ?? '(none)'}; ${result.links} links verified before it`,
          { details: { ...b, position: String(b.position) } },
        );
      });
    });

  audit
    .command('export')
    .description('write the audit trail as JSON Lines or CSV to standard output')
    .addOption(
      new Option('--format <format>', 'output format').choices(Object.values(AuditExportFormat)).makeOptionMandatory(),
    )
    .option('--since <iso>', 'only events that occurred at or after this ISO-8601 instant')
    .option('--issue <id>', 'only events of this issue (its issue-<id> stream, or data.issueId)')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .action(async (opts: { format: AuditExportFormat; since?: string; issue?: string; store: string }) => {
      const keep = auditRecordFilter({ since: opts.since, issue: opts.issue });
      await withAuditableStore(opts.store, async (store) => {
        if (opts.format === 'csv') write(formatCsvHeader());
        const format = opts.format === 'csv' ? formatCsvRow : formatJsonLine;
        for await (const entry of auditLogEntries(store)) {
          const record = toAuditRecord(entry);
          if (record !== undefined && keep(record)) write(format(record));
        }
      });
    });
}

async function withAuditableStore(url: string, fn: (store: AuditableEventStore) => Promise<void>): Promise<void> {
  const store: EventStore = openEventStore(url, { mustExist: true });
  try {
    if (!isAuditableEventStore(store)) {
      throw new CairnError(
        'audit.unsupported',
        ErrorCategory.Validation,
        `the event store at ${url} keeps no audit chain (only the sqlite and memory stores do)`,
      );
    }
    await fn(store);
  } finally {
    await store.close();
  }
}
