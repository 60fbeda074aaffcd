import { csvCell, csvRow } from './csv';

describe('csv', () => {
  describe(csvCell.name, () => {
    it('quotes separators, quotes and line breaks', () => {
      expect(csvCell('a,b')).toBe('"a,b"');
      expect(csvCell('say "hi"')).toBe('"say ""hi"""');
      expect(csvCell('two\nlines')).toBe('"two\nlines"');
      expect(csvCell(null)).toBe('');
      expect(csvCell(4.5)).toBe('4.5');
    });

    it.each(['=HYPERLINK("http://evil")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd'])('stops CSV formula injection through a field starting %p', (value) => {
      expect(csvCell(value).replace(/^"/, '')).toMatch(/^'/);
    });
  });

  it('ends a row with CRLF', () => {
    expect(csvRow(['a', null, 1])).toBe('a,,1\r\n');
  });
});
