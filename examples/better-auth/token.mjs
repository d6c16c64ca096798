// Signs up EMAIL (or signs in, if it exists) on the Better Auth app at BASE
// and prints a JWT for it, as a browser app would get one.
//   node token.mjs BASE EMAIL NAME
const [base, email, name] = process.argv.slice(2);
const password = "a long enough password for the example";
const post = (path, body) =>
  fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify(body),
  });
let signed = await post("/api/auth/sign-up/email", { email, password, name });
if (!signed.ok) signed = await post("/api/auth/sign-in/email", { email, password });
if (!signed.ok) {
  console.error("sign-in failed:", signed.status, await signed.text());
  process.exit(1);
}
const cookie = signed.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const answer = await fetch(base + "/api/auth/token", { headers: { cookie } });
if (!answer.ok) {
  console.error("no token:", answer.status, await answer.text());
  process.exit(1);
}
console.log((await answer.json()).token);
