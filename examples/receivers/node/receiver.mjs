// A webhook receiver for assina in Node.js, verifying with `standardwebhooks`.
//
//   npm install standardwebhooks
//   ASSINA_WEBHOOK_SECRET=whsec_... ASSINA_VALIDATION_TOKEN=... node receiver.mjs 8080
import { timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.ASSINA_WEBHOOK_SECRET);
const validationToken = Buffer.from(process.env.ASSINA_VALIDATION_TOKEN);
const handled = new Set(); // webhook-ids already handled: keep them in your database

function isOurToken(header) {
  const token = Buffer.from(header ?? "");
  return token.length === validationToken.length && timingSafeEqual(token, validationToken);
}

createServer(async (request, response) => {
  // Verify the raw bytes as received, never JSON parsed and serialised again.
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  let event;
  try {
    if (!isOurToken(request.headers["x-validation-token"])) throw new Error("wrong token");
    // Throws unless one signature matches and the timestamp is within 5 minutes.
    event = webhook.verify(body, request.headers);
  } catch {
    response.writeHead(401).end();
    return;
  }
  // Every retry of a message carries the same webhook-id: handle it once.
  const id = request.headers["webhook-id"];
  if (!handled.has(id)) {
    handled.add(id);
    handle(event);
  }
  response.writeHead(204).end();
}).listen(Number(process.argv[2]), "127.0.0.1");

// Your code: here it only prints what arrived.
function handle(event) {
  console.log(JSON.stringify({ id: event.id, type: event.type, sequence: event.sequence }));
}
