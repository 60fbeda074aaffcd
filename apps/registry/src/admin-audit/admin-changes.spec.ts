import { API_ROUTES } from '../openapi/api-routes';
import { AdminChanges, describeAdminChange } from './admin-changes';

describe('AdminChanges', () => {
  it('names every mutating admin route, and only those, so none changes anything unaudited', () => {
    const mutating = API_ROUTES.filter((route) => route.method !== 'get').map((route) => `${route.method.toUpperCase()} ${route.path.replace(/\{(\w+)\}/g, ':$1')}`);
    expect(Object.keys(AdminChanges).sort()).toEqual(mutating.sort());
  });
});

describe(describeAdminChange.name, () => {
  it('names the change by its route parameters', () => {
    expect(describeAdminChange('server.collaborator.set', { slug: 'alpha', subject: 'team:dev' }, { role: 'user' })).toBe('server.collaborator.set alpha team:dev');
  });

  it('names a create by the slug or name it answers', () => {
    expect(describeAdminChange('server.create', {}, { slug: 'github', url: 'https://example.com' })).toBe('server.create github');
  });

  it('never copies a secret the answer carries (a new API key): only naming fields are read', () => {
    const reason = describeAdminChange('api-key.create', {}, { token: 'pcl_secret_token_value', apiKey: { id: 'k1', name: 'laptop', prefix: 'pcl_abc' } });
    expect(reason).toBe('api-key.create laptop');
    expect(reason).not.toContain('pcl_secret_token_value');
  });
});
