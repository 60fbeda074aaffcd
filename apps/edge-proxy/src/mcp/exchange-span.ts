import { trace } from '@opentelemetry/api';

/** What a trace records about one exchange: who, where, which tool, which kind of credential, how it ended. Never a token or a header value. */
export interface ExchangeFacts {
  principalId: string;
  actorId?: string;
  server: string;
  tools: readonly (string | null)[];
  credentialKind: string | null;
  outcome: string;
}

/**
 * Sets the exchange's facts on its (active) span, the same facts its audit
 * events carry, so traces and the audit trail can be joined by trace id. The
 * facts are gathered only for a span that records them: most do not (nothing
 * is exported by default), and this runs on every call.
 */
export function annotateExchangeSpan(gather: () => ExchangeFacts): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  const facts = gather();
  const tools = facts.tools.filter((tool): tool is string => tool !== null);
  span.setAttributes({
    'portcullis.principal.id': facts.principalId,
    ...(facts.actorId ? { 'portcullis.actor.id': facts.actorId } : {}),
    'portcullis.server': facts.server,
    ...(tools.length > 0 ? { 'mcp.tool.name': tools.join(',') } : {}),
    ...(facts.credentialKind ? { 'portcullis.credential.kind': facts.credentialKind } : {}),
    'portcullis.outcome': facts.outcome,
  });
}
