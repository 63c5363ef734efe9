import { describe, it, expect } from 'vitest';
import { parseRules, globMatch, findRule, validateRule, ruleWrites, ruleKey } from '../src/lib/mapping.js';
import { splitMarkers, joinMarkers } from '../src/lib/config.js';

describe('parseRules', () => {
  const config = {
    scheduling: 'balance',
    'model_map.gpt-4o*': 'gemini-2.5-flash',
    'model_map.*': 'gemini-2.5-flash-lite',
    'model_map.gpt-4o-mini': 'gemini-2.5-flash-lite',
    'model_map.claude-*-4': 'gemini-2.5-pro',
    'model_map.o3': 'deepseek-reasoner',
    'model_map.empty': '',
    'model_map.': 'x',
  };
  it('takes only model_map.* keys with a pattern and a target', () => {
    const rules = parseRules(config);
    expect(rules.map((r) => r.pattern)).toEqual(['gpt-4o-mini', 'o3', 'claude-*-4', 'gpt-4o*', '*']);
    expect(rules[0]).toEqual({ key: 'model_map.gpt-4o-mini', pattern: 'gpt-4o-mini', target: 'gemini-2.5-flash-lite' });
  });
  it('copes with no config', () => {
    expect(parseRules(null)).toEqual([]);
    expect(parseRules({})).toEqual([]);
  });
  it('finds the rule levity would use', () => {
    const rules = parseRules(config);
    expect(findRule(rules, 'gpt-4o-mini').pattern).toBe('gpt-4o-mini');
    expect(findRule(rules, 'gpt-4o-2024').pattern).toBe('gpt-4o*');
    expect(findRule(rules, 'claude-opus-4').pattern).toBe('claude-*-4');
    expect(findRule(rules, 'anything').pattern).toBe('*');
    expect(findRule(parseRules({ 'model_map.a*': 'x' }), 'b')).toBeNull();
  });
});

describe('globMatch (same cases as levity config.rs)', () => {
  it.each([
    ['gpt-4o*', 'gpt-4o-mini', true],
    ['gpt-4o*', 'gpt-4', false],
    ['*', 'anything', true],
    ['claude-*-5', 'claude-opus-5', true],
    ['claude-*-5', 'claude-opus-4', false],
    ['a*b*c', 'abc', true],
    ['a*a', 'a', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ])('%s vs %s', (p, t, want) => {
    expect(globMatch(p, t)).toBe(want);
  });
});

describe('validateRule and ruleWrites', () => {
  it('names what is wrong', () => {
    expect(validateRule('', 'x')).toBe('proxy.map.errPattern');
    expect(validateRule('gpt 4', 'x')).toBe('proxy.map.errSpace');
    expect(validateRule('gpt-4*', ' ')).toBe('proxy.map.errTarget');
    expect(validateRule('gpt-4*', 'gem*')).toBe('proxy.map.errTargetStar');
    expect(validateRule(' gpt-4* ', 'gemini-2.5-flash')).toBeNull();
  });
  it('adds, and on rename deletes the old key with an empty value', () => {
    expect(ruleWrites(null, 'gpt-4*', 'g')).toEqual([{ key: 'model_map.gpt-4*', value: 'g' }]);
    expect(ruleWrites('gpt-4*', 'gpt-4*', ' h ')).toEqual([{ key: 'model_map.gpt-4*', value: 'h' }]);
    expect(ruleWrites('old', 'new', 'g')).toEqual([
      { key: 'model_map.new', value: 'g' },
      { key: 'model_map.old', value: '' },
    ]);
    expect(ruleKey('x*')).toBe('model_map.x*');
  });
});

describe('background markers', () => {
  it('round-trips between | and lines', () => {
    expect(splitMarkers('a| b |=c||')).toEqual(['a', 'b', '=c']);
    expect(joinMarkers('a\n b \n\n=c\r\n')).toBe('a|b|=c');
    expect(joinMarkers(splitMarkers('x|y').join('\n'))).toBe('x|y');
  });
});
