// Assets: presigned uploads straight to S3 with progress, then `complete`
// so the server checks the stored object before it counts as ready.
import { get, post } from './api.js';
import { ApiError, networkError } from './errors.js';

export const PORTRAIT_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/**
 * uploadAsset runs the whole flow for file and returns the ready asset:
 * POST /api/assets → upload to the presigned URL (onProgress(0..1)) →
 * POST /api/assets/{id}/complete.
 */
export async function uploadAsset(kind, file, onProgress = () => {}) {
  const { asset, upload } = await post('/api/assets', {
    kind, content_type: file.type, size: file.size, filename: file.name,
  });
  await sendToStorage(upload, file, onProgress);
  const done = await post(`/api/assets/${asset.id}/complete`, {});
  return done.asset;
}

/** assetURL returns a short-lived download URL for an asset. */
export async function assetURL(id) {
  const { asset } = await get(`/api/assets/${id}`);
  return asset.download_url;
}

// sendToStorage uses XMLHttpRequest rather than fetch: only XHR reports
// upload progress (upload.onprogress).
function sendToStorage(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const method = (upload.method || 'POST').toUpperCase();
    xhr.open(method, upload.url);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      // S3 answers in XML: <Error><Code>EntityTooLarge</Code>…
      const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || '')?.[1] ?? '';
      reject(new ApiError({ status: xhr.status, code: 'upload_failed', message: code }));
    };
    xhr.onerror = () => reject(networkError());
    xhr.ontimeout = () => reject(networkError());
    if (method === 'POST') {
      // A presigned POST policy: its fields first, the file last.
      const form = new FormData();
      for (const [k, v] of Object.entries(upload.fields ?? {})) form.append(k, v);
      form.append('file', file);
      xhr.send(form);
    } else {
      for (const [k, v] of Object.entries(upload.headers ?? {})) {
        if (!/^(host|content-length)$/i.test(k)) xhr.setRequestHeader(k, Array.isArray(v) ? v.join(', ') : v);
      }
      xhr.send(file);
    }
  });
}

/** uploadProblem words an upload failure for the player. */
export function uploadProblem(err) {
  if (!(err instanceof ApiError)) return null;
  if (err.code === 'upload_failed') {
    if (/EntityTooLarge/.test(err.apiMessage)) return 'That image is too large. Please choose a smaller one.';
    if (/AccessDenied|Expired|Policy/i.test(err.apiMessage)) return 'The upload window closed before the image arrived. Please try again.';
    return "The image didn't upload. Please try again.";
  }
  if (err.code === 'storage_starting') return 'Uploads will be available in a moment: file storage is still starting. Please try again shortly.';
  if (err.code === 'not_found' && /route/.test(err.apiMessage)) return "Portrait uploads aren't available on this server yet.";
  if (err.code === 'conflict') return "The image didn't arrive intact. Please try again.";
  if (err.code === 'too_large') return 'That image is too large. Please choose a smaller one.';
  if (err.code === 'unsupported_media_type' || /content_type/.test(err.apiMessage)) return 'Please choose a PNG, JPEG or WebP image.';
  return null;
}
