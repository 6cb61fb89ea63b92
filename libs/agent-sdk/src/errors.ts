/** A non-2xx answer from the Agent Monitor API. */
export class AgentApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'AgentApiError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** POST JSON, parse the JSON answer, throw AgentApiError on non-2xx. */
export async function postJson<T>(
  fetchFn: FetchLike,
  url: string,
  key: string,
  body: unknown,
  timeoutMs: number,
): Promise<T> {
  const res = await fetchFn(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the error message
  }
  if (!res.ok) {
    const msg =
      parsed && typeof parsed === 'object' && 'message' in parsed
        ? String((parsed as { message: unknown }).message)
        : `HTTP ${res.status}`;
    throw new AgentApiError(res.status, msg, parsed);
  }
  return parsed as T;
}
