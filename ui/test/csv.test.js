import { describe, it, expect } from 'vitest';
import { toCsv } from '../src/lib/csv.js';

const cols = [{ key: 'day' }, { key: 'requests' }, { key: 'errors' }, { key: 'input_tokens' }, { key: 'output_tokens' }];

describe('toCsv', () => {
  it('writes a header and one CRLF line per row', () => {
    const csv = toCsv(
      [
        { day: '2026-11-25', requests: 3, errors: 0, input_tokens: 10, output_tokens: 20 },
        { day: '2026-11-26', requests: 5, errors: 1, input_tokens: 30, output_tokens: 40 },
      ],
      cols
    );
    expect(csv).toBe(
      'day,requests,errors,input_tokens,output_tokens\r\n2026-11-25,3,0,10,20\r\n2026-11-26,5,1,30,40\r\n'
    );
  });
  it('uses labels when given and leaves missing values empty', () => {
    expect(toCsv([{ a: 1 }], [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }])).toBe('A,B\r\n1,\r\n');
  });
  it('quotes commas, quotes and line breaks', () => {
    expect(toCsv([{ n: 'a,b' }, { n: 'say "hi"' }, { n: 'two\nlines' }], [{ key: 'n' }])).toBe(
      'n\r\n"a,b"\r\n"say ""hi"""\r\n"two\nlines"\r\n'
    );
  });
  it('defuses spreadsheet formulas in text, not in numbers', () => {
    expect(toCsv([{ n: '=HYPERLINK("x")' }, { n: -5 }, { n: '@cmd' }], [{ key: 'n' }])).toBe(
      'n\r\n"\'=HYPERLINK(""x"")"\r\n-5\r\n\'@cmd\r\n'
    );
  });
  it('an empty table is just the header', () => {
    expect(toCsv([], cols)).toBe('day,requests,errors,input_tokens,output_tokens\r\n');
  });
});
