import { useState } from 'react';
import Markdown, { type Components } from 'react-markdown';
import type { ChatMessage } from '@trellis/contracts';

/**
 * Model answers and prompts are text that a model or a user wrote: they are only ever rendered
 * as React text or through react-markdown, which turns raw HTML into visible text and drops
 * unsafe URLs (`javascript:`). Never `dangerouslySetInnerHTML`.
 */

/** Images in an answer are shown as their description: fetching a URL a model chose would leak what it put in it. */
const MARKDOWN_COMPONENTS: Components = {
  img: ({ alt, src }) => (
    <span className="muted">
      [image{alt ? `: ${alt}` : ''}
      {typeof src === 'string' && src ? ` (${src})` : ''}]
    </span>
  ),
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  ),
};

export function MarkdownText({ text }: { text: string }) {
  return (
    <div className="markdown">
      <Markdown components={MARKDOWN_COMPONENTS}>{text}</Markdown>
    </div>
  );
}

export function JsonText({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** Text that parses as a JSON object or array. */
function asJson(text: string): { value: unknown } | null {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return null;
  try {
    return { value: JSON.parse(t) };
  } catch {
    return null;
  }
}

/** A step's output: JSON pretty-printed, otherwise Markdown rendered safely, with the raw text one click away. */
export function OutputView({ text, structured }: { text: string | null; structured?: unknown }) {
  const [raw, setRaw] = useState(false);
  if (text === null && structured === undefined) return <p className="muted">No output.</p>;
  const json = structured !== undefined ? { value: structured } : asJson(text ?? '');
  return (
    <div className="output">
      <div className="output-mode">
        <button type="button" className="link" aria-pressed={raw} onClick={() => setRaw(!raw)}>
          {raw ? (json ? 'Show formatted' : 'Show as Markdown') : 'Show raw text'}
        </button>
      </div>
      {raw ? <pre>{text ?? JSON.stringify(structured)}</pre> : json ? <JsonText value={json.value} /> : <MarkdownText text={text ?? ''} />}
    </div>
  );
}

/** A rendered prompt as sent to the model: each message's role and its exact text. */
export function MessagesView({ messages }: { messages: ChatMessage[] }) {
  return (
    <ol className="messages">
      {messages.map((m, i) => (
        <li key={i}>
          <span className="role">{m.role}</span>
          <pre>{m.content}</pre>
        </li>
      ))}
    </ol>
  );
}
