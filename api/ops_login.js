// Operator sign-in: log in, trade the access token for the ops cookie
// (POST /ops/session), then open the queue dashboard. The tokens never
// leave this function: the cookie is HttpOnly.
"use strict";

async function errorOf(resp) {
  try {
    const body = await resp.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (e) { /* not JSON */ }
  return resp.status + " " + resp.statusText;
}

async function signIn(form, message) {
  message.textContent = "";
  const login = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.email.value, password: form.password.value, remember: false }),
  });
  if (!login.ok) throw new Error(await errorOf(login));
  const tokens = await login.json();
  const session = await fetch("/ops/session", {
    method: "POST",
    headers: { Authorization: "Bearer " + tokens.access_token },
  });
  if (!session.ok) throw new Error(await errorOf(session));
  const { url } = await session.json();
  window.location.assign(url);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login");
  const message = document.getElementById("message");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn(form, message).catch((err) => { message.textContent = err.message; });
  });
});
