/** Stable codes for HTTP errors that are not data-layer errors (those carry their own code). */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  410: 'GONE',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/** Longest message taken over from a plain-text error response. */
const MAX_MESSAGE = 200;

/** The code of an HTTP status: `NOT_FOUND` for 404, `HTTP_418` for one without a name. @internal */
export function codeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? `HTTP_${status}`;
}

/** The one error body of the server: `{ error: { code, message } }`. @internal */
export function errorJson(
  status: number,
  message: string,
  code = codeForStatus(status),
  headers?: Headers | Record<string, string>,
): Response {
  const response = Response.json({ error: { code, message: message.slice(0, MAX_MESSAGE) } }, { status });
  if (headers) new Headers(headers).forEach((value, name) => response.headers.set(name, value));
  return response;
}

/**
 * An error response that is not JSON (Hono's plain-text 404 or HTTPException, a text error of the app) in the
 * server's one shape; its headers (WWW-Authenticate, Retry-After…) are kept. JSON and non-error responses pass
 * through unchanged.
 * @internal
 */
export async function asJsonError(response: Response): Promise<Response> {
  if (response.status < 400) return response;
  const type = response.headers.get('content-type');
  if (type !== null && !type.startsWith('text/plain')) return response;
  const text = type === null ? '' : (await response.text()).trim();
  const message = text.length > 0 && text.length <= MAX_MESSAGE ? text : (STATUS_TEXT[response.status] ?? 'Error');
  const headers = new Headers(response.headers);
  headers.delete('content-type');
  headers.delete('content-length');
  return errorJson(response.status, message, codeForStatus(response.status), headers);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
};
