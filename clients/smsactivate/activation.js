'use strict'
// A whole SMS-Activate activation against Fetch SMS, driven by the sms-activate
// package from the npm registry exactly as its users drive it; the one change
// is its base URL (the package hard-codes the original host). The Go test
// cmd/fetchsms/e2e_smsactivate_node_test.go runs this with:
//
//   FETCHSMS_HANDLER_URL  http://127.0.0.1:<port>/stubs/handler_api.php
//   FETCHSMS_API_KEY      a customer's API key
//
// Each step prints one line, "STEP value…", on stdout: balance → number → (the
// test sends the SMS when it reads READY) → code → another code (setStatus 3;
// the test sends it when it reads WAITING) → complete, then number →
// cancel → refund. Any failure prints FAIL and exits 1.

const SMSActivate = require('sms-activate')

const sms = new SMSActivate(process.env.FETCHSMS_API_KEY)
sms.session.defaults.baseURL = process.env.FETCHSMS_HANDLER_URL

const say = (...words) => console.log(words.join(' '))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// waitForCode polls getStatus as the package's own example does, for 15 s at most.
async function waitForCode (id) {
  for (let i = 0; i < 150; i++) {
    const code = await sms.getCode(id)
    if (code) {
      return code
    }
    await sleep(100)
  }
  throw new Error('no code within 15 s')
}

async function main () {
  say('BALANCE', await sms.getBalance())

  const first = await sms.getNumber('tg', 187)
  say('NUMBER', first.id, first.number)
  say('READY', await sms.setStatus(first.id, 1))
  say('CODE', await waitForCode(first.id))
  // Another code on the same number (status 3), free: the last code stays
  // readable until the next arrives (the package's getStatus shows the word
  // alone; the test sends the next code when it reads WAITING).
  say('RETRY', await sms.setStatus(first.id, 3))
  say('WAITING', await sms.getStatus(first.id))
  say('CODE2', await waitForCode(first.id))
  say('COMPLETE', await sms.setStatus(first.id, 6))

  const second = await sms.getNumber('tg', 187)
  say('NUMBER2', second.id, second.number)
  say('CANCEL', await sms.setStatus(second.id, 8))
  say('STATUS', await sms.getStatus(second.id))
  say('BALANCE', await sms.getBalance())
}

main().catch((err) => {
  say('FAIL', err && err.name, err && err.message)
  process.exit(1)
})
