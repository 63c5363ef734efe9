import { describe, it, expect } from 'vitest';
import { describeError, errorMessage } from '../src/lib/errors.js';
import { ApiError } from '../src/lib/api.js';
import { translate } from '../src/lib/i18n.js';

const say = (lang, e, ...ctx) => errorMessage(e, (k, p) => translate(lang, k, p), ...ctx);
const problem = (status, code, message) => new ApiError(message, { status, code, type: 'admin_error' });

describe('API errors in the user\'s language', () => {
  const cases = [
    // [error, context, params, en, zh]
    [problem(400, 'invalid_request', 'max_attempts: must be from 1 to 10'), '', {}, 'Invalid request: max_attempts: must be from 1 to 10', '请求无效：max_attempts: must be from 1 to 10'],
    [problem(409, 'conflict', 'port 8045 is in use'), '', {}, 'Conflicts with the current state: port 8045 is in use', '与当前状态冲突：port 8045 is in use'],
    [problem(500, 'store_error', 'disk full'), '', {}, 'Server error (HTTP 500): disk full', '服务器错误（HTTP 500）：disk full'],
    [problem(418, 'teapot', 'short and stout'), '', {}, 'Refused (HTTP 418): short and stout', '请求被拒绝（HTTP 418）：short and stout'],
    [problem(502, 'http_status', 'HTTP 502 Bad Gateway'), '', {}, 'Server error (HTTP 502)', '服务器错误（HTTP 502）'],
    [new ApiError('Server unreachable', { code: 'unreachable' }), '', {}, 'The server cannot be reached. Is levity serve running?', '无法连接服务器。levity serve 是否在运行？'],
    [problem(403, 'cross_site', 'this change was sent from another site'), '', {}, "The change came from another site and was refused: make it in levity's own dashboard.", '此修改来自其他网站，已被拒绝：请在 levity 自己的控制台中操作。'],
    [
      problem(404, 'not_found', 'model `x` is not served: … `levity config set model_map.x gemini-2.5-flash`'),
      'route',
      { model: 'x' },
      'No account lists x and no mapping rule maps it: add an account that serves it, or a mapping rule on the Proxy page.',
      '没有账号列出 x，也没有映射规则匹配它：请添加提供该模型的账号，或在代理页添加映射规则。',
    ],
    [
      problem(503, 'unavailable', 'no Gemini account can serve `g`: add one with `levity account add gemini --api-key KEY`'),
      'route',
      { model: 'g' },
      'No account can serve g right now: add one on the Accounts page, or wait until a resting one is back.',
      '目前没有账号可以处理 g：请在账号页添加账号，或等待冷却中的账号恢复。',
    ],
    [new TypeError('x is undefined'), '', {}, 'Something went wrong: x is undefined', '出错了：x is undefined'],
  ];
  for (const [e, ctx, params, en, zh] of cases) {
    it(`${e.code || e.name} ${ctx}`.trim(), () => {
      expect(say('en', e, ctx, params)).toBe(en);
      expect(say('zh', e, ctx, params)).toBe(zh);
    });
  }

  it('says a context sentence only for the codes it knows', () => {
    // A not_found outside a route is the server's words behind a lead-in.
    expect(describeError(problem(404, 'not_found', 'no such account: a1'))).toEqual({ key: 'error.not_found', detail: 'no such account: a1' });
    // A conflict while resolving a route is not one the route sentences cover.
    expect(describeError(problem(409, 'conflict', 'busy'), 'route', { model: 'm' }).key).toBe('error.conflict');
  });

  it('leaves no English prose in Chinese for the errors it recognises', () => {
    const english = /[A-Za-z]{3,}(?: [A-Za-z]{2,}){2,}/;
    for (const [e, ctx, params, , zh] of cases) {
      if (describeError(e, ctx, params).detail) continue;
      expect(say('zh', e, ctx, params)).not.toMatch(english);
    }
  });
});
