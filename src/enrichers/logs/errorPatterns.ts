/**
 * The error patterns Cairn looks for in container logs, by category. Each is a message a real runtime, client
 * library or server prints; a line may match several (a Redis client's "connection refused" is both cache and
 * connectivity). `critical` patterns mark lines shown with their surrounding context.
 */
export const ErrorCategory = {
  crash: 'crash',
  connectivity: 'connectivity',
  dns: 'dns',
  auth: 'auth',
  storage: 'storage',
  tls: 'tls',
  database: 'database',
  cache: 'cache',
  messaging: 'messaging',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];
export const ErrorCategories = Object.values(ErrorCategory);

export interface ErrorPattern {
  readonly id: string;
  readonly category: ErrorCategory;
  /** What the pattern means, for the analysis text. */
  readonly meaning: string;
  readonly critical: boolean;
  readonly pattern: RegExp;
}

const p = (id: string, category: ErrorCategory, meaning: string, pattern: RegExp, critical = false): ErrorPattern => ({
  id,
  category,
  meaning,
  pattern,
  critical,
});

export const ErrorPatterns: readonly ErrorPattern[] = [
  // crash
  p(
    'out-of-memory',
    'crash',
    'the process ran out of memory',
    /OutOfMemoryError|\bout of memory\b|Cannot allocate memory|\bOOMKilled\b|heap out of memory|\bMemoryError\b|\bENOMEM\b|Killed process \d+|memory limit exceeded/i,
    true,
  ),
  p(
    'segfault',
    'crash',
    'the process crashed on a memory access (segmentation fault)',
    /segmentation (?:fault|violation)|\bSIGSEGV\b|signal 11\b|core dumped|\bSIGABRT\b|\bSIGBUS\b/i,
    true,
  ),
  p(
    'panic',
    'crash',
    'an unrecovered panic or uncaught exception ended the process',
    /^(?:panic|fatal error): |\bpanic: |uncaught exception|unhandled exception|unhandled ?(?:promise ?)?rejection|Exception in thread "|\bFATAL\b|\bCRITICAL\b/i,
    true,
  ),
  p(
    'killed',
    'crash',
    'the process was killed or exited with an error status',
    /\bSIGKILL\b|\bSIGTERM\b|\bkilled\b|exit(?:ed)? (?:with )?(?:status|code):? [1-9]\d*|exit status [1-9]\d*|terminated unexpectedly/i,
  ),
  p(
    'stack-overflow',
    'crash',
    'unbounded recursion overflowed the stack',
    /StackOverflowError|maximum recursion depth exceeded|Maximum call stack size exceeded|goroutine stack exceeds|stack overflow/i,
    true,
  ),
  p(
    'startup-failure',
    'crash',
    'the application failed to start (configuration or initialisation)',
    /APPLICATION FAILED TO START|Application run failed|failed to (?:start|initiali[sz]e|load (?:config|configuration))|missing required (?:env(?:ironment)?(?: variable)?|config(?:uration)?|setting)|invalid configuration|BeanCreationException|ImproperlyConfigured|required key .* missing/i,
    true,
  ),
  // connectivity
  p(
    'connection-refused',
    'connectivity',
    'a dependency refused connections (nothing listening, or it is down)',
    /connection refused|\bECONNREFUSED\b|ConnectException|actively refused/i,
  ),
  p(
    'connection-reset',
    'connectivity',
    'connections were dropped by the other side',
    /connection reset|\bECONNRESET\b|broken pipe|\bEPIPE\b|unexpected EOF|socket hang up|connection (?:was )?(?:closed|aborted) (?:by|unexpectedly)/i,
  ),
  p(
    'timeout',
    'connectivity',
    'calls to a dependency timed out',
    /\btimed out\b|\bETIMEDOUT\b|\bESOCKETTIMEDOUT\b|deadline exceeded|\bDEADLINE_EXCEEDED\b|i\/o timeout|SocketTimeoutException|ReadTimeout|ConnectTimeout|timeout (?:exceeded|expired|waiting|while)|request timeout|gateway timeout|(?:status|code)[ =:]*504\b/i,
  ),
  p(
    'unreachable',
    'connectivity',
    'a dependency or its network is unreachable',
    /no route to host|network is unreachable|\bEHOSTUNREACH\b|\bENETUNREACH\b|upstream connect error|no healthy upstream|" 50[234] (?:UF|UH|UO|URX|UC|UT)\b|\b503 Service Unavailable\b|\b502 Bad Gateway\b|\bUNAVAILABLE: /i,
  ),
  // dns
  p(
    'dns-resolution',
    'dns',
    'a host name could not be resolved',
    /no such host|\bENOTFOUND\b|\bEAI_AGAIN\b|\bNXDOMAIN\b|UnknownHostException|Name or service not known|Temporary failure in name resolution|could not resolve (?:host|hostname)|getaddrinfo (?:failed|ENOTFOUND|EAI_AGAIN)|nodename nor servname|server misbehaving/i,
  ),
  // auth
  p(
    'unauthorized',
    'auth',
    'credentials were rejected (401, invalid or expired token)',
    /(?:status|code|HTTP\/[\d.]+)[ =:]*401\b|\b401 Unauthori[sz]ed|\bunauthori[sz]ed\b|invalid (?:token|credentials|api[ _-]?key|username or password)|authentication (?:failed|required)|token (?:has )?expired|\binvalid_grant\b|\binvalid_client\b|signature is invalid/i,
  ),
  p(
    'forbidden',
    'auth',
    'access was refused (403, permission denied)',
    /(?:status|code|HTTP\/[\d.]+)[ =:]*403\b|\bforbidden\b|permission denied|access denied|\bEACCES\b|\bEPERM\b|AccessDenied|insufficient (?:permissions|privileges)|not authori[sz]ed to/i,
  ),
  // storage
  p(
    'disk-full',
    'storage',
    'the disk or volume is full',
    /no space left on device|\bENOSPC\b|disk (?:is )?full|\bDiskFull\b|disk quota exceeded|\bEDQUOT\b|insufficient disk space/i,
    true,
  ),
  p(
    'read-only-filesystem',
    'storage',
    'a file system the application writes to is read-only',
    /read-only file ?system|\bEROFS\b/i,
  ),
  p(
    'missing-file',
    'storage',
    'a file or volume the application needs is missing',
    /no such file or directory|\bENOENT\b|FileNotFoundException|NoSuchFileException|MountVolume\.SetUp failed|unable to (?:mount|attach) volume/i,
  ),
  p(
    'io-error',
    'storage',
    'reading or writing storage failed',
    /input\/output error|\bEIO\b|\bI\/O error\b|IOException|corrupt(?:ed|ion)\b|checksum mismatch|stale (?:NFS )?file handle/i,
  ),
  // tls
  p(
    'certificate',
    'tls',
    'a TLS certificate was rejected (expired, unknown authority, wrong name)',
    /\bx509: |certificate (?:has expired|is not valid|signed by unknown authority|verify failed|is valid for)|\bCERT_HAS_EXPIRED\b|SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|PKIX path building failed|CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError|ERR_TLS_CERT/i,
  ),
  p(
    'tls-handshake',
    'tls',
    'a TLS handshake failed',
    /\btls: |TLS handshake|handshake (?:failure|failed|timeout)|SSLHandshakeException|SSL routines|\bSSLError\b|wrong version number|\bERR_SSL_|alert (?:bad certificate|unknown ca|protocol version)/i,
  ),
  // database
  p(
    'db-connections-exhausted',
    'database',
    'the database or its connection pool ran out of connections',
    /too many (?:connections|clients)|remaining connection slots are reserved|connection pool (?:is )?exhausted|pool (?:is )?exhausted|Cannot acquire connection|Connection is not available, request timed out|timeout acquiring a connection|Unable to acquire JDBC Connection|max_connections/i,
  ),
  p(
    'db-deadlock',
    'database',
    'transactions deadlocked or waited too long for a lock',
    /deadlock detected|Deadlock found|lock wait timeout|could not serialize access|\bER_LOCK_DEADLOCK\b|\bER_LOCK_WAIT_TIMEOUT\b|LockAcquisitionException|canceling statement due to lock timeout/i,
  ),
  p(
    'db-schema',
    'database',
    'the schema does not match the code (missing table or column, pending migration)',
    /relation "[^"]+" does not exist|relation \S+ does not exist|no such (?:table|column)|Table '[^']+' doesn't exist|column "?[\w.]+"? (?:of relation "[^"]+" )?does not exist|Unknown column|undefined (?:table|column)|migrations? (?:failed|pending|are pending)|\bER_NO_SUCH_TABLE\b|\bER_BAD_FIELD_ERROR\b/i,
  ),
  p(
    'db-connection',
    'database',
    'the database could not be reached or refused the login',
    /password authentication failed for user|Access denied for user|database "[^"]+" does not exist|the database system is (?:starting up|shutting down|in recovery mode)|could not connect to (?:server|database)|PSQLException|SQLException|SQLSTATE\[|MongoNetworkError|MongoServerSelectionError|\bORA-\d{5}\b|Communications link failure|server closed the connection unexpectedly/i,
  ),
  p(
    'db-constraint',
    'database',
    'writes violated a database constraint',
    /duplicate key value violates unique constraint|violates (?:foreign key|not-null|check) constraint|\bIntegrityError\b|\bER_DUP_ENTRY\b|ConstraintViolationException|UNIQUE constraint failed/i,
  ),
  // cache
  p(
    'redis',
    'cache',
    'the Redis cache failed or refused commands',
    /\bredis\b.*\b(?:error|refused|timeout|timed out|failed|unavailable|closed|reset)\b|\bNOAUTH\b|\bWRONGPASS\b|\bCLUSTERDOWN\b|READONLY You can't write|OOM command not allowed|LOADING Redis is loading|\bMISCONF\b|RedisConnectionException|RedisCommandTimeoutException|ReplyError|MOVED \d+ [\d.]+:\d+/i,
  ),
  p(
    'memcached',
    'cache',
    'the Memcached cache failed',
    /memcache[d]?\b.*\b(?:error|failed|timeout|timed out|refused|unavailable|dead)\b|\bSERVER_ERROR\b|server marked dead|no servers available for key/i,
  ),
  // messaging
  p(
    'kafka',
    'messaging',
    'producing to or consuming from Kafka failed',
    /\bkafka\b.*\b(?:error|exception|failed|timeout|timed out|not available|disconnected|rebalanc\w*)\b|\bLEADER_NOT_AVAILABLE\b|\bNOT_LEADER_(?:FOR_PARTITION|OR_FOLLOWER)\b|\bUNKNOWN_TOPIC_OR_PARTITION\b|KafkaJS\w*Error|KafkaJSNumberOfRetriesExceeded|org\.apache\.kafka\.common\.errors\.|CommitFailedException|Offset commit failed|Broker may not be available/i,
  ),
  p(
    'amqp',
    'messaging',
    'the AMQP broker (RabbitMQ) closed the connection or refused the operation',
    /\bamqp\b.*\b(?:error|closed|refused|failed|timeout)\b|\bACCESS_REFUSED\b|\bPRECONDITION_FAILED\b|\bCHANNEL_ERROR\b|\bRESOURCE_LOCKED\b|NOT_FOUND - no (?:queue|exchange)|Channel closed by server|AmqpConnectException|ShutdownSignalException|\brabbitmq\b.*\b(?:error|closed|refused|unreachable|failed)\b/i,
  ),
  p(
    'queue-broker',
    'messaging',
    'a message broker or queue was unavailable or rejected messages',
    /\bnats: (?:no servers available|connection closed|timeout|maximum payload exceeded)|\bNATS\b.*\b(?:error|disconnected)\b|(?:message|queue) (?:is )?full|dead[- ]?letter(?:ed)?|\bSQS\b.*\b(?:error|throttl\w*|failed)\b|\bpubsub\b.*\b(?:error|failed|deadline)\b|\bMQRC_\w+|JMSException/i,
  ),
];

/** The patterns a line matches, most specific first (the table's order). */
export const matchPatterns = (line: string): ErrorPattern[] => ErrorPatterns.filter((x) => x.pattern.test(line));
