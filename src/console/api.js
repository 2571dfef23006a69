// REST calls with the agent's bearer token, and the errors they answer.

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
  async function call(method, path, body) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (response.ok) return data;
    const error = new ApiError(response.status, data);
    if (response.status === 401 && path !== '/api/login') onUnauthorized(error);
    throw error;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    patch: (path, body) => call('PATCH', path, body),
    put: (path) => call('PUT', path),
    del: (path) => call('DELETE', path),
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
