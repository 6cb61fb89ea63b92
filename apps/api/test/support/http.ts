/** A tiny fetch wrapper for integration tests: JSON in, `{status, body, headers}` out. */
export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  /** Raw body (string/Buffer) sent as is; otherwise `json` is serialised. */
  raw?: string | Buffer;
  json?: unknown;
}

export function client(baseUrl: string) {
  async function request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization ??= `Bearer ${opts.token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    request,
    get: <T = unknown>(p: string, o?: RequestOptions) => request<T>('GET', p, o),
    post: <T = unknown>(p: string, json?: unknown, o?: RequestOptions) =>
      request<T>('POST', p, { ...o, json }),
    put: <T = unknown>(p: string, json?: unknown, o?: RequestOptions) =>
      request<T>('PUT', p, { ...o, json }),
    patch: <T = unknown>(p: string, json?: unknown, o?: RequestOptions) =>
      request<T>('PATCH', p, { ...o, json }),
    delete: <T = unknown>(p: string, o?: RequestOptions) => request<T>('DELETE', p, o),
  };
}

export type Client = ReturnType<typeof client>;
