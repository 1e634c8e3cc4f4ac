// Reads deliveries captured by the Go test (a JSON array of {secret, headers,
// body}) on stdin and verifies each with the Standard Webhooks reference
// library, unchanged. Prints one JSON line per delivery: {ok, error?, payload?}.
// With "sign SECRET ID TIMESTAMP BODY" it prints the library's signature instead.
"use strict";
const { Webhook } = require("standardwebhooks");

if (process.argv[2] === "sign") {
  const [secret, id, ts, body] = process.argv.slice(3);
  process.stdout.write(new Webhook(secret).sign(id, new Date(Number(ts) * 1000), body) + "\n");
  process.exit(0);
}

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  for (const d of JSON.parse(input)) {
    try {
      const payload = new Webhook(d.secret).verify(d.body, d.headers);
      console.log(JSON.stringify({ ok: true, payload }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e && e.message) }));
    }
  }
});
