// REST calls and file downloads with the agent's bearer token, and the
// errors they answer.

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code ?? 'http_error';
    this.holder = error.holder ?? null;
    this.newer = error.newer ?? null;
  }
}

/**
 * @param {() => string|null} getToken
 * @param {(error: ApiError) => void} onUnauthorized called on any 401 but login's
 */
export function createApi(getToken, onUnauthorized) {
  function send(method, path, body) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  async function fail(response, path) {
    const text = await response.text();
    const error = new ApiError(response.status, text ? JSON.parse(text) : null);
    if (response.status === 401 && path !== '/api/login') onUnauthorized(error);
    throw error;
  }
  async function call(method, path, body) {
    const response = await send(method, path, body);
    if (!response.ok) return fail(response, path);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }
  /** A file (an attachment): a plain link would not carry the token. */
  async function blob(path) {
    const response = await send('GET', path);
    if (!response.ok) return fail(response, path);
    return response.blob();
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    patch: (path, body) => call('PATCH', path, body),
    put: (path) => call('PUT', path),
    del: (path) => call('DELETE', path),
    blob,
  };
}

/** `/path?key=value…`, leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
