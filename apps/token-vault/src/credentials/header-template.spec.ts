import { hasMalformedPlaceholder, headerSetVariables, renderTemplate, templateVariables } from './header-template';

describe('header templates', () => {
  it('finds each variable once, in order of appearance', () => {
    expect(templateVariables('{{B}} and {{A_1}} and {{B}}')).toEqual(['B', 'A_1']);
    expect(headerSetVariables(['Bearer {{API_KEY}}', '{{TENANT}}-{{API_KEY}}'])).toEqual(['API_KEY', 'TENANT']);
    expect(templateVariables('no variables, {{lower}} is not one')).toEqual([]);
  });

  it('flags placeholders that are not variables', () => {
    expect(hasMalformedPlaceholder('Bearer {{API_KEY}}')).toBe(false);
    expect(hasMalformedPlaceholder('Bearer {{api_key}}')).toBe(true);
    expect(hasMalformedPlaceholder('Bearer {{ API_KEY }}')).toBe(true);
    expect(hasMalformedPlaceholder('Bearer {{API_KEY}')).toBe(true);
  });

  it('renders in one pass and refuses a missing value or an invalid result', () => {
    expect(renderTemplate('Bearer {{API_KEY}}', new Map([['API_KEY', '{{API_KEY}}']]))).toBe('Bearer {{API_KEY}}');
    expect(renderTemplate('{{A}}:{{B}}', new Map([['A', 'x']]))).toBeNull();
    expect(renderTemplate('Bearer {{A}}', new Map([['A', 'x'.repeat(8192)]]))).toBeNull();
    expect(renderTemplate('Bearer {{A}}', new Map([['A', '$& $1']]))).toBe('Bearer $& $1');
  });
});
