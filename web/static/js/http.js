// One JSON request over fetch, with the API's error shape decoded. Knows
// nothing about tokens: auth.js and api.js build on it.
import { ApiError, networkError } from './errors.js';

/**
 * sendJSON sends method path with an optional JSON body and returns the
 * decoded answer (null for 204). Failures throw ApiError.
 */
export async function sendJSON(method, path, { body, token, headers = {}, signal, credentials = 'omit' } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      // Cookies only where asked (auth.js: the refresh cookie).
      credentials,
      cache: 'no-store',
    });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw networkError();
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const e = data?.error ?? {};
    throw new ApiError({
      status: resp.status,
      code: e.code || codeForStatus(resp.status),
      message: e.message || '',
      retryAfter: Number(resp.headers.get('Retry-After')) || 0,
    });
  }
  return data;
}

// codeForStatus names an answer without the API's error body (a proxy's 502, say).
function codeForStatus(status) {
  const codes = { 400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large', 429: 'rate_limited' };
  return codes[status] ?? (status >= 500 ? 'unavailable' : 'internal');
}
