// Errors in words, not codes: every failure the player sees goes through
// friendly(), which turns the API's {error:{code,message}} (or a network
// failure) into a sentence they can act on.

/** ApiError is a failed request: HTTP status, API error code, API message. */
export class ApiError extends Error {
  constructor({ status = 0, code = 'internal', message = '', retryAfter = 0 } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.apiMessage = message;
    this.retryAfter = retryAfter;
  }
}

/** networkError is what a request that never got an answer becomes. */
export function networkError() {
  return new ApiError({ status: 0, code: 'network', message: 'network error' });
}

const byCode = {
  network: "We can't reach the server. Check your connection and try again.",
  invalid_credentials: "That email and password don't match an account.",
  unauthorized: 'Your sign-in has ended. Please sign in again.',
  forbidden: "You don't have permission to do that.",
  storage_starting: 'Uploads will be available in a moment: file storage is still starting.',
  not_found: "We couldn't find that. It may have been deleted.",
  conflict: 'That clashes with something that already exists.',
  too_large: 'That is too large to send.',
  unsupported_media_type: "That kind of file isn't accepted here.",
  unprocessable: "The server couldn't use what was sent.",
  method_not_allowed: "That isn't possible here.",
  unavailable: 'The realm is briefly out of reach. Please try again in a moment.',
  internal: 'Something went wrong on our side. Please try again.',
  upload_failed: "The upload didn't go through. Please try again.",
};

// Field names as the API spells them, as a player would say them.
const fieldNames = {
  email: 'Email',
  password: 'Password',
  display_name: 'Display name',
  name: 'Name',
  class: 'Class',
  level: 'Level',
  title: 'Title',
  content: 'Your message',
  q: 'The search',
  k: 'The number of results',
  character_id: 'The character',
  'sheet.hp.max': 'Maximum HP',
  'sheet.hp.current': 'Current HP',
  'sheet.inventory': 'Inventory',
  'sheet.notes': 'Notes',
  'sheet.abilities': 'Abilities',
  content_type: 'The file type',
  size: 'The file size',
  filename: 'The file name',
};

function fieldLabel(field) {
  if (fieldNames[field]) return fieldNames[field];
  const m = /^sheet\.abilities\.(\w+)$/.exec(field);
  if (m) return m[1][0].toUpperCase() + m[1].slice(1);
  const words = field.replace(/^sheet\./, '').replace(/[._]/g, ' ');
  return words[0].toUpperCase() + words.slice(1);
}

/** invalidSentence turns "password: must be at least 10 characters" into
 * "Password must be at least 10 characters." */
function invalidSentence(message) {
  const m = /^([\w.-]+): (.+)$/.exec(message || '');
  if (!m) return 'Some of what you entered is not valid. Please check it and try again.';
  let rest = m[2].trim();
  if (!/[.!?]$/.test(rest)) rest += '.';
  if (/^is already registered/.test(rest)) return 'An account with that email already exists. Try signing in instead.';
  return `${fieldLabel(m[1])} ${rest}`;
}

/**
 * friendly returns a sentence for err. overrides maps an API code (or
 * "status:409") to a sentence that fits the action at hand.
 */
export function friendly(err, overrides = {}) {
  if (!(err instanceof ApiError)) {
    console.error(err);
    return byCode.internal;
  }
  const o = overrides[err.code] ?? overrides[`status:${err.status}`];
  if (o) return o;
  switch (err.code) {
    case 'invalid_request':
      return invalidSentence(err.apiMessage);
    case 'conflict':
      if (/already registered/.test(err.apiMessage)) return invalidSentence(err.apiMessage);
      return byCode.conflict;
    case 'rate_limited': {
      const s = err.retryAfter > 0 ? Math.ceil(err.retryAfter) : 0;
      return s > 0
        ? `Too many attempts. Please wait ${s === 1 ? 'a second' : `${s} seconds`} and try again.`
        : 'Too many attempts. Please wait a little and try again.';
    }
  }
  if (byCode[err.code]) return byCode[err.code];
  if (err.status >= 500) return byCode.internal;
  return 'That did not work. Please try again.';
}
