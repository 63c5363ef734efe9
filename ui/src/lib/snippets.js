// Client configuration snippets for the Connect page.

export const KEY_PLACEHOLDER = 'YOUR_LEVITY_KEY';
export const DEFAULT_MODEL = 'gemini-2.5-flash';

/**
 * Every snippet for a host ("127.0.0.1:8045") and a key (or the placeholder).
 * Titles and notes are i18n keys: connect.<id>.title / connect.<id>.note.
 */
export function snippets(host, key = '', model = DEFAULT_MODEL) {
  const k = key || KEY_PLACEHOLDER;
  const origin = `http://${host}`;
  const v1 = `${origin}/v1`;
  return [
    {
      id: 'claude',
      lang: 'sh',
      code: `export ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_API_KEY=${k}\nclaude`,
    },
    {
      id: 'codex',
      lang: 'toml',
      file: '~/.codex/config.toml',
      code:
        `model_provider = "levity"\nmodel = "${model}"\n\n` +
        `[model_providers.levity]\nname = "levity"\nbase_url = "${v1}"\nenv_key = "LEVITY_API_KEY"\nwire_api = "responses"\n`,
      extra: `export LEVITY_API_KEY=${k}\ncodex`,
    },
    {
      id: 'openai',
      lang: 'python',
      code:
        `from openai import OpenAI\n\nclient = OpenAI(base_url="${v1}", api_key="${k}")\n` +
        `reply = client.chat.completions.create(\n    model="${model}",\n    messages=[{"role": "user", "content": "Hello"}],\n)\nprint(reply.choices[0].message.content)`,
    },
    {
      id: 'anthropic',
      lang: 'python',
      code:
        `import anthropic\n\nclient = anthropic.Anthropic(base_url="${origin}", api_key="${k}")\n` +
        `reply = client.messages.create(\n    model="${model}",\n    max_tokens=1024,\n    messages=[{"role": "user", "content": "Hello"}],\n)\nprint(reply.content[0].text)`,
    },
    {
      id: 'genai',
      lang: 'python',
      code:
        `from google import genai\nfrom google.genai import types\n\n` +
        `client = genai.Client(\n    api_key="${k}",\n    http_options=types.HttpOptions(base_url="${origin}"),\n)\n` +
        `reply = client.models.generate_content(model="${model}", contents="Hello")\nprint(reply.text)`,
    },
    {
      id: 'cursor',
      lang: 'text',
      code: `OpenAI API Key:            ${k}\nOverride OpenAI Base URL:  ${v1}\nModel:                     ${model}`,
    },
    {
      id: 'cherry',
      lang: 'text',
      code: `Provider type:  OpenAI\nAPI Key:        ${k}\nAPI Host:       ${origin}\nModel:          ${model}`,
    },
    {
      id: 'curl',
      lang: 'sh',
      code:
        `curl ${v1}/chat/completions \\\n  -H "Authorization: Bearer ${k}" \\\n  -H "Content-Type: application/json" \\\n` +
        `  -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    },
  ];
}
