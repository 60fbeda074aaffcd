import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@portcullis/telemetry';
import { AccessDecisionResolver } from '../access/access-decision-resolver.service';
import { CredentialResolver } from '../access/credential-resolver.service';
import { PrincipalResolver } from '../access/principal-resolver.service';
import { TargetResolver } from '../access/target-resolver.service';

/**
 * `portcullis_edge_cache_lookups_total{cache, result}`: hits and misses of
 * the edge's caches (principals, targets, access decisions, credentials), read from the
 * caches at scrape time. Hit ratio = rate(hit) / rate(hit + miss).
 */
@Injectable()
export class EdgeCacheMetrics {
  constructor(metrics: MetricsRegistry, principals: PrincipalResolver, targets: TargetResolver, decisions: AccessDecisionResolver, credentials: CredentialResolver) {
    const caches = { principal: principals, target: targets, decision: decisions, credential: credentials };
    metrics.counter('portcullis_edge_cache_lookups_total', 'Edge cache lookups by cache and result (a miss asks another service over the bus)', ['cache', 'result'], (counter) => {
      counter.reset();
      for (const [cache, resolver] of Object.entries(caches)) {
        const { hits, misses } = resolver.cacheStats();
        counter.inc({ cache, result: 'hit' }, hits);
        counter.inc({ cache, result: 'miss' }, misses);
      }
    });
  }
}
