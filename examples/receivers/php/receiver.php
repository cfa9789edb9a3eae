<?php
// A webhook receiver for assina in plain PHP, no library: the validation token and the
// Standard Webhooks signature checked by hand.
//
//   ASSINA_WEBHOOK_SECRET=whsec_... ASSINA_VALIDATION_TOKEN=... php -S 127.0.0.1:8080 receiver.php

function assina_signature_is_valid(string $body, array $headers, string $secret): bool
{
    $id = $headers['webhook-id'] ?? '';
    $timestamp = $headers['webhook-timestamp'] ?? '';
    // Refuse old (replayed) deliveries: the timestamp is the attempt's, in unix seconds.
    if ($id === '' || !ctype_digit($timestamp) || abs(time() - (int) $timestamp) > 300) {
        return false;
    }
    $key = base64_decode(substr($secret, strlen('whsec_')), true);
    $signed = $id . '.' . $timestamp . '.' . $body;
    $expected = base64_encode(hash_hmac('sha256', $signed, $key, true));
    // Space-separated "v1,<base64>" items: two of them while a secret rotation lasts.
    foreach (explode(' ', $headers['webhook-signature'] ?? '') as $item) {
        $parts = explode(',', $item, 2);
        if (count($parts) === 2 && $parts[0] === 'v1' && hash_equals($expected, $parts[1])) {
            return true;
        }
    }
    return false;
}

// Verify the raw bytes as received, never JSON parsed and serialised again.
$body = file_get_contents('php://input');
$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$token = $headers['x-validation-token'] ?? '';
if (!hash_equals(getenv('ASSINA_VALIDATION_TOKEN'), $token)
    || !assina_signature_is_valid($body, $headers, getenv('ASSINA_WEBHOOK_SECRET'))) {
    http_response_code(401);
    exit;
}
$event = json_decode($body, true);
// Every retry carries the same webhook-id: handle each id once (keep them in your database).
// Your code: here it only writes what arrived to the server's log.
$line = ['id' => $event['id'], 'type' => $event['type'], 'sequence' => $event['sequence']];
file_put_contents('php://stderr', json_encode($line) . "\n");
http_response_code(204);
