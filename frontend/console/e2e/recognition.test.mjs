// Browser test of 检查检验结果互认: a fake HIS page (served by this test, on its own origin) includes the embed
// script, opens the popup in an iframe, and receives the doctor's decisions by postMessage.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/recognition.test.mjs
// The demo seed writes recent lab and imaging reports at 江川区中心医院 (三甲) for residents registered at
// JC-C001 (jizuo/apps/recognition/tasks.py seed_demo_results): the family doctor there gets prompts for them.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { BASE_URL, PASSWORD, launch, openPage, sel, shot } from './helpers.mjs'

const LOINC = 'http://loinc.org'
let browser
let his
let hisUrl

async function token(username) {
  const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: PASSWORD }),
  })
  assert.equal(res.status, 200)
  return (await res.json()).access_token
}

async function call(path, bearer, body) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = await res.json()
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

/** What a HIS page does: its own order form, plus the Jizuo script to open the popup. */
function hisPage(checkId, bearer) {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>某HIS 门诊医生站</title>
<script src="${BASE_URL}/api/v1/recognition/popup.js"></script></head>
<body><h1>门诊医生站（模拟 HIS）</h1><button id="order">开单：血常规 + 胸部CT</button>
<ul id="decisions"></ul><p id="closed"></p>
<script>
document.getElementById('order').onclick = function () {
  JizuoRecognition.open({ base: ${JSON.stringify(BASE_URL)}, checkId: ${JSON.stringify(checkId)},
    token: ${JSON.stringify(bearer)},
    onDecision: function (d) {
      var li = document.createElement('li'); li.className = 'decision'
      li.textContent = d.item + ':' + d.decision + (d.reason ? ':' + d.reason : '')
      document.getElementById('decisions').appendChild(li)
    },
    onClose: function (s) { document.getElementById('closed').textContent = 'closed:' + s.decisions.length } })
}
</script></body></html>`
}

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
  his?.close()
})

describe('互认弹窗 opened from a HIS page', () => {
  let check
  let doctorToken
  before(async () => {
    // Find a demo patient with a recent CBC and chest CT at the central hospital (as the district admin).
    const admin = await token('admin')
    const since = new Date(Date.now() - 13 * 86400_000).toISOString().slice(0, 10)
    const ct = await call(`/fhir/DiagnosticReport?code=${LOINC}|24627-2&date=ge${since}&_count=5`, admin)
    assert.ok(ct.entry?.length, 'demo seed wrote recent chest CT reports')
    const patientRef = ct.entry[0].resource.subject.reference
    const patient = await call(`/fhir/${patientRef}`, admin)
    const centre = patient.managingOrganization.reference
    // The HIS of the patient's community centre orders CBC (its own local code) and a chest CT (LOINC).
    doctorToken = await token('family_doctor')
    check = await call('/api/v1/recognition/check', doctorToken, {
      patient: { patient_id: patientRef.split('/')[1] }, ordering_organization: centre.split('/')[1],
      practitioner: 'GP-01', department: 'QK',
      items: [{ system: 'https://jizuo.example.org/fhir/CodeSystem/lab-local/JC-C001', code: 'C-XCG' },
              { system: LOINC, code: '24627-2' }],
    })
    assert.ok(check.popup_url, JSON.stringify(check))
    assert.deepEqual(check.items.map((i) => [i.item, i.recognisable]), [['CBC', true], ['CT_CHEST', true]])
    his = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(hisPage(check.check_id, doctorToken))
    })
    await new Promise((resolve) => his.listen(0, '127.0.0.1', resolve))
    hisUrl = `http://127.0.0.1:${his.address().port}/`
  })

  test('the doctor recognises the CBC and re-tests the CT with a national reason', async () => {
    const page = await openPage(browser)
    await page.goto(hisUrl)
    await page.locator('#order').click()
    const popup = page.frameLocator('iframe[title="检查检验结果互认"]')
    const cbc = popup.locator('[data-item="CBC"]')
    await cbc.locator('text=血红蛋白').first().waitFor()
    await shot(page, 'recognition-popup')
    await cbc.locator(sel('recognise')).click()
    await page.locator('li.decision', { hasText: 'CBC:recognised' }).waitFor()

    const ct = popup.locator('[data-item="CT_CHEST"]')
    await ct.locator(sel('retest')).click()
    await ct.locator(sel('reason')).click()
    await popup.locator('.el-select-dropdown__item', { hasText: '急诊、急救、危重症抢救' }).click()
    await ct.locator(sel('confirm-retest')).click()
    await page.locator('li.decision', { hasText: 'CT_CHEST:retested:emergency' }).waitFor()
    await ct.locator(sel('decision-tag')).waitFor()
    await popup.locator(sel('popup-close')).click()
    await page.locator('#closed', { hasText: 'closed:2' }).waitFor()
    assert.equal(await page.locator('iframe').count(), 0)

    // Recorded on the server, with the reason
    const stored = await call(`/api/v1/recognition/checks/${check.check_id}`, doctorToken)
    const byItem = Object.fromEntries(stored.prompts.map((p) => [p.item_code, p]))
    assert.equal(byItem.CBC.decision, 'recognised')
    assert.ok(byItem.CBC.recognised_report.startsWith('DiagnosticReport/'))
    assert.equal(byItem.CT_CHEST.decision, 'retested')
    assert.equal(byItem.CT_CHEST.reason, 'emergency')
    await page.context().close()
  })
})
