import { Injectable } from '@nestjs/common';
import { AccessAction, AccessDecision, AccessRole, Principal } from '@portcullis/contracts';
import { ServerNotFoundError } from '../errors';
import { SLUG_PATTERN } from '../servers/dto/server.dto';
import { AccessRulesRepository } from './access-rules.repository';
import { PolicyEvaluator } from './policy-evaluator';

export type AccessResource = 'server' | 'group' | 'virtual-server';

/** `registry.authorize` and the admin API's resource checks: load the rules, let {@link PolicyEvaluator} decide. */
@Injectable()
export class AuthorizationService {
  private readonly evaluator = new PolicyEvaluator();

  constructor(private readonly rules: AccessRulesRepository) {}

  /** @throws ServerNotFoundError when no server has this slug. */
  async authorize(principal: Principal, slug: string, action: AccessAction): Promise<AccessDecision> {
    // Servers and virtual servers share one slug namespace.
    const rules = SLUG_PATTERN.test(slug) ? ((await this.rules.forServer(slug)) ?? (await this.rules.forVirtualServer(slug))) : null;
    if (!rules) throw new ServerNotFoundError(slug);
    return this.evaluator.evaluate(principal, rules, action);
  }

  /** The principal's effective role on a server or group; null when it has none or the resource does not exist. */
  async roleOn(principal: Principal, resource: AccessResource, key: string): Promise<AccessRole | null> {
    if (!SLUG_PATTERN.test(key)) return null;
    const rules =
      resource === 'server' ? await this.rules.forServer(key) : resource === 'group' ? await this.rules.forGroup(key) : await this.rules.forVirtualServer(key);
    if (!rules) return principal.isAdmin && !principal.actor ? 'admin' : null;
    return this.evaluator.evaluate(principal, rules, 'list').role;
  }
}
