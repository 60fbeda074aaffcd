import { AccessAction, isToolVisible, Principal } from '@portcullis/contracts';
import { PolicyEvaluator, TargetRules } from './policy-evaluator';
import { parseSubject, subjectsOf } from './subject';

const evaluator = new PolicyEvaluator();

const alice: Principal = { id: 'u-alice', kind: 'user', sub: 'alice', email: 'Alice@Example.com', teams: ['dev'], isAdmin: false };
const bob: Principal = { id: 'u-bob', kind: 'user', sub: 'bob', email: 'bob@example.com', teams: ['ops'], isAdmin: false };
const admin: Principal = { id: 'u-root', kind: 'user', sub: 'root', email: 'root@example.com', teams: [], isAdmin: true };
const bot: Principal = { id: 'va-1', kind: 'virtual_account', sub: 'ci-bot', teams: [], isAdmin: false };
const oktaUser: Principal = { id: 'x-1', kind: 'external', sub: '00u1', email: 'alice@example.com', teams: [], isAdmin: false, idp: 'okta' };

function rules(overrides: Partial<TargetRules> = {}): TargetRules {
  return { slug: 'github', collaborators: [], tools: [], policies: [], ...overrides };
}

const TOOLS = ['create_issue', 'delete_repo', 'list_issues', 'get_me'];
const visible = (principal: Principal, target: TargetRules) => TOOLS.filter((tool) => isToolVisible(evaluator.evaluate(principal, target, 'list'), tool));

describe(PolicyEvaluator.name, () => {
  describe('evaluate: roles by subject kind', () => {
    const table: { name: string; principal: Principal; collaborators: TargetRules['collaborators']; action: AccessAction; allowed: boolean; role: string | null }[] = [
      { name: 'a user named by email may call as user', principal: alice, collaborators: [{ subject: 'user:alice@example.com', role: 'user' }], action: 'call', allowed: true, role: 'user' },
      { name: 'a viewer may list', principal: alice, collaborators: [{ subject: 'user:alice@example.com', role: 'viewer' }], action: 'list', allowed: true, role: 'viewer' },
      { name: 'a viewer may not call', principal: alice, collaborators: [{ subject: 'user:alice@example.com', role: 'viewer' }], action: 'call', allowed: false, role: 'viewer' },
      { name: 'a user may not manage', principal: alice, collaborators: [{ subject: 'user:alice@example.com', role: 'user' }], action: 'manage', allowed: false, role: 'user' },
      { name: 'a manager may manage, call and list', principal: alice, collaborators: [{ subject: 'user:alice@example.com', role: 'manager' }], action: 'manage', allowed: true, role: 'manager' },
      { name: 'a team member gets the team role', principal: alice, collaborators: [{ subject: 'team:dev', role: 'user' }], action: 'call', allowed: true, role: 'user' },
      { name: 'someone outside the team gets nothing', principal: bob, collaborators: [{ subject: 'team:dev', role: 'user' }], action: 'list', allowed: false, role: null },
      { name: 'team:everyone reaches every principal', principal: bot, collaborators: [{ subject: 'team:everyone', role: 'viewer' }], action: 'list', allowed: true, role: 'viewer' },
      { name: 'a virtual account is named by its name', principal: bot, collaborators: [{ subject: 'virtualaccount:ci-bot', role: 'user' }], action: 'call', allowed: true, role: 'user' },
      { name: 'an external identity is named by provider and sub', principal: oktaUser, collaborators: [{ subject: 'external:okta/00u1', role: 'user' }], action: 'call', allowed: true, role: 'user' },
      { name: 'the strongest matching role wins', principal: alice, collaborators: [{ subject: 'team:everyone', role: 'viewer' }, { subject: 'team:dev', role: 'manager' }], action: 'manage', allowed: true, role: 'manager' },
      { name: 'a global admin may do everything without being a collaborator', principal: admin, collaborators: [], action: 'manage', allowed: true, role: 'admin' },
    ];
    it.each(table)('$name', ({ principal, collaborators, action, allowed, role }) => {
      expect(evaluator.evaluate(principal, rules({ collaborators }), action)).toMatchObject({ allowed, role });
    });
  });

  describe('evaluate: attacks', () => {
    it('denies by default: a principal named nowhere gets no role', () => {
      expect(evaluator.evaluate(alice, rules(), 'list')).toMatchObject({ allowed: false, role: null, reason: 'no role on "github"' });
    });

    it('stops an external IdP from claiming a local user by asserting their email', () => {
      expect(evaluator.evaluate(oktaUser, rules({ collaborators: [{ subject: 'user:alice@example.com', role: 'manager' }] }), 'list').allowed).toBe(false);
    });

    it('stops a virtual account from borrowing a user grant through a look-alike email', () => {
      const sneaky: Principal = { ...bot, email: 'alice@example.com' };
      expect(evaluator.evaluate(sneaky, rules({ collaborators: [{ subject: 'user:alice@example.com', role: 'user' }] }), 'call').allowed).toBe(false);
    });

    it('stops a virtual account signed in through an IdP from matching an external grant of the same name', () => {
      const viaIdp: Principal = { ...bot, idp: 'okta' };
      expect(evaluator.evaluate(viaIdp, rules({ collaborators: [{ subject: 'external:okta/ci-bot', role: 'user' }] }), 'call').allowed).toBe(false);
      expect(evaluator.evaluate(viaIdp, rules({ collaborators: [{ subject: 'virtualaccount:ci-bot', role: 'user' }] }), 'call').allowed).toBe(true);
    });

    it('stops a user from matching a virtual account grant by choosing the same sub', () => {
      const user: Principal = { ...alice, sub: 'ci-bot' };
      expect(evaluator.evaluate(user, rules({ collaborators: [{ subject: 'virtualaccount:ci-bot', role: 'user' }] }), 'call').allowed).toBe(false);
    });

    it('stops a viewer from calling tools', () => {
      expect(evaluator.evaluate(alice, rules({ collaborators: [{ subject: 'team:dev', role: 'viewer' }] }), 'call')).toMatchObject({ allowed: false, reason: expect.stringContaining('needs the user role') });
    });

    it('stops an allowed tool from slipping past a deny: deny beats allow', () => {
      const target = rules({ collaborators: [{ subject: 'team:dev', role: 'user' }], policies: [{ subject: 'team:dev', allow: ['*'], deny: ['delete_*'] }] });
      expect(visible(alice, target)).toEqual(['create_issue', 'list_issues', 'get_me']);
    });

    it("stops one subject's allow from undoing another subject's deny", () => {
      const target = rules({
        collaborators: [{ subject: 'team:dev', role: 'user' }],
        policies: [
          { subject: 'user:alice@example.com', allow: ['delete_repo'], deny: [] },
          { subject: 'team:everyone', allow: null, deny: ['delete_repo'] },
        ],
      });
      expect(visible(alice, target)).not.toContain('delete_repo');
    });

    it('restricts to the allow-list as soon as one matching policy has one', () => {
      const target = rules({ collaborators: [{ subject: 'team:dev', role: 'user' }], policies: [{ subject: 'team:dev', allow: ['list_*', 'get_me'], deny: [] }] });
      expect(visible(alice, target)).toEqual(['list_issues', 'get_me']);
      expect(visible(bob, { ...target, collaborators: [{ subject: 'team:everyone', role: 'user' }] })).toEqual(TOOLS);
    });

    it('hides a disabled tool from everyone, admins included', () => {
      const target = rules({ collaborators: [{ subject: 'team:dev', role: 'user' }], tools: [{ tool: 'delete_repo', disabled: true, description: 'gone' }] });
      expect(visible(alice, target)).not.toContain('delete_repo');
      expect(visible(admin, target)).not.toContain('delete_repo');
      expect(evaluator.evaluate(admin, target, 'list').descriptions).toEqual({});
    });

    it('does not apply tool policies to a global admin', () => {
      expect(visible(admin, rules({ policies: [{ subject: 'team:everyone', allow: [], deny: ['*'] }] }))).toEqual(TOOLS);
    });

    it('hands out description overrides of enabled tools', () => {
      expect(evaluator.evaluate(alice, rules({ collaborators: [{ subject: 'team:dev', role: 'viewer' }], tools: [{ tool: 'get_me', disabled: false, description: 'Who am I' }] }), 'list').descriptions).toEqual({ get_me: 'Who am I' });
    });
  });

  describe('evaluate: on behalf of (actor)', () => {
    const onBehalf: Principal = { ...alice, actor: { id: 'va-1', kind: 'virtual_account', sub: 'ci-bot' } };

    it('stops an actor without a role from using a user grant (confused deputy)', () => {
      const decision = evaluator.evaluate(onBehalf, rules({ collaborators: [{ subject: 'team:dev', role: 'manager' }] }), 'list');
      expect(decision).toMatchObject({ allowed: false, role: null, reason: 'the actor has no role on "github"' });
    });

    it('stops an actor with a strong role from lifting a weak user (takes the weaker role)', () => {
      const target = rules({ collaborators: [{ subject: 'team:dev', role: 'viewer' }, { subject: 'virtualaccount:ci-bot', role: 'manager' }] });
      expect(evaluator.evaluate(onBehalf, target, 'call')).toMatchObject({ allowed: false, role: 'viewer' });
    });

    it('stops an admin user from lending admin rights to an actor', () => {
      const viaAdmin: Principal = { ...admin, actor: { id: 'va-1', kind: 'virtual_account', sub: 'ci-bot' } };
      expect(evaluator.evaluate(viaAdmin, rules({ collaborators: [{ subject: 'virtualaccount:ci-bot', role: 'user' }] }), 'manage')).toMatchObject({ allowed: false, role: 'user' });
    });

    it('stops the actor from seeing tools the user may not see, and the other way round (intersection)', () => {
      const target = rules({
        collaborators: [{ subject: 'team:dev', role: 'user' }, { subject: 'virtualaccount:ci-bot', role: 'user' }],
        policies: [
          { subject: 'team:dev', allow: ['create_issue', 'list_issues'], deny: [] },
          { subject: 'virtualaccount:ci-bot', allow: ['list_issues', 'get_me'], deny: [] },
        ],
      });
      const decision = evaluator.evaluate(onBehalf, target, 'call');
      expect(decision.allowed).toBe(true);
      expect(visible(onBehalf, target)).toEqual(['list_issues']);
      expect(decision.visibleTools).toEqual(['list_issues']);
    });
  });

  describe('evaluate: visibleTools', () => {
    it('is null when no allow-list restricts, or when allow-lists use globs', () => {
      expect(evaluator.evaluate(alice, rules({ collaborators: [{ subject: 'team:dev', role: 'user' }] }), 'list').visibleTools).toBeNull();
      expect(evaluator.evaluate(alice, rules({ collaborators: [{ subject: 'team:dev', role: 'user' }], policies: [{ subject: 'team:dev', allow: ['list_*'], deny: [] }] }), 'list').visibleTools).toBeNull();
    });

    it('lists literal allowed names minus disabled and denied ones', () => {
      const target = rules({
        collaborators: [{ subject: 'team:dev', role: 'user' }],
        tools: [{ tool: 'get_me', disabled: true, description: null }],
        policies: [{ subject: 'team:dev', allow: ['create_issue', 'get_me', 'delete_repo'], deny: ['delete_*'] }],
      });
      expect(evaluator.evaluate(alice, target, 'list').visibleTools).toEqual(['create_issue']);
    });
  });
});

describe('subjects', () => {
  it.each([
    ['user:Alice@Example.com', 'user:alice@example.com'],
    ['team:dev', 'team:dev'],
    ['team:everyone', 'team:everyone'],
    ['virtualaccount:ci-bot', 'virtualaccount:ci-bot'],
    ['external:okta/00u1', 'external:okta/00u1'],
  ])('parses %s', (raw, canonical) => expect(parseSubject(raw)).toBe(canonical));

  it.each(['alice@example.com', 'user:', 'user:not-an-email', 'group:dev', 'team:', 'team:has space', 'external:okta', 'external:/x', ':x'])('refuses %p', (raw) => {
    expect(parseSubject(raw)).toBeNull();
  });

  it('gives every principal team:everyone, and an email only to users', () => {
    expect([...subjectsOf({ kind: 'external', sub: 's', email: 'a@b.c', teams: [], idp: 'okta' })].sort()).toEqual(['external:okta/s', 'team:everyone']);
  });
});
