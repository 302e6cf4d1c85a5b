// Browser tests of data ingestion and quality control (数据采集 / 隔离区 / 质控评分) against a running Jizuo
// server with the demo district and the data-standard catalogue:
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/ingest.test.mjs
// The institution administrator of JC-H001 uploads a small lab file (2 good rows, 1 with a wrong 身份证 check
// digit), reads the receipt, fixes the held row in the quarantine and sees it released; the regulator then finds
// the institution on the scorecard.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { api, choose, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

const INSTITUTION = 'JC-H001'
const LAB_SET_NAME = '检验记录'

// GB 11643: ISO 7064 MOD 11-2 check character over the first 17 digits (same as jizuo/core/idcard.py).
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
function checkChar(first17) {
  const total = [...first17].reduce((sum, d, i) => sum + Number(d) * WEIGHTS[i], 0)
  return '10X98765432'[total % 11]
}
const idNumber = (region, birth, seq) => `${region}${birth}${seq}` + checkChar(`${region}${birth}${seq}`)
/** The same number with a check character that cannot be right. */
function spoiled(valid) {
  const wrong = valid.endsWith('0') ? '1' : '0'
  return valid.slice(0, 17) + wrong
}

/** "YYYY-MM-DD HH:mm:ss" in Beijing time, `hours` before now. */
function beijing(hoursAgo) {
  return new Date(Date.now() - hoursAgo * 3600_000).toLocaleString('sv-SE', { timeZone: 'Asia/Shanghai' })
}

const stamp = Date.now().toString(36).toUpperCase() // each run its own report numbers (the set's unique key)
const GOOD_A = idNumber('310104', '19600517', '123') // odd sequence: male, sex code 1
const GOOD_B = idNumber('310115', '19750902', '246') // even sequence: female, sex code 2
const FIXED_C = idNumber('310110', '19881230', '135')
const BAD_C = spoiled(FIXED_C)

function labRow(n, id, name, sex, birth, item, itemName, value, unit, range) {
  return {
    institution_code: INSTITUTION,
    patient_id: `E2E${stamp}${n}`,
    id_number: id,
    patient_name: name,
    sex_code: sex,
    birth_date: birth,
    visit_type: '1',
    report_no: `LAB${stamp}${n}`,
    specimen_type: '2',
    item_code: item,
    item_name: itemName,
    value,
    unit,
    ref_range: range,
    sample_time: beijing(3),
    receive_time: beijing(2.5),
    report_time: beijing(1),
  }
}

const ROWS = [
  labRow(1, GOOD_A, '测试甲', '1', '19600517', 'GLU', '空腹血糖', '5.6', 'mmol/L', '3.9-6.1'),
  labRow(2, GOOD_B, '测试乙', '2', '1975-09-02', 'TC', '总胆固醇', '4.8', 'mmol/L', '2.8-5.2'),
  labRow(3, BAD_C, '测试丙', '1', '19881230', 'GLU', '空腹血糖', '6.9', 'mmol/L', '3.9-6.1'),
]

const csvCell = (v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

/** The CSV an institution would send: headers are the data set's field names, in the catalogue's order. */
function labCsv(fields) {
  const names = fields.map((f) => f.name).filter((n) => ROWS.some((r) => n in r))
  for (const f of fields) {
    if (f.required) assert.ok(names.includes(f.name), `the test file lacks the required field ${f.name}`)
  }
  for (const key of Object.keys(ROWS[0])) assert.ok(names.includes(key), `the lab data set has no field ${key}`)
  const lines = [names, ...ROWS.map((r) => names.map((n) => r[n] ?? ''))]
  return Buffer.from(lines.map((l) => l.map(csvCell).join(',')).join('\r\n') + '\r\n', 'utf8')
}

let browser

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

describe('institution administrator: upload, receipt, quarantine fix', () => {
  let page
  let labCode
  let batchId

  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'hosp_admin')
    const sets = await api(page, '/api/v1/standards/datasets')
    labCode = sets.find((s) => s.name === LAB_SET_NAME)?.code
    assert.ok(labCode, `the catalogue has no ${LAB_SET_NAME} data set`)
  })
  after(async () => {
    await page.context().close()
  })

  test('menu shows the four ingest and quality pages', async () => {
    for (const section of ['ingest', 'quarantine', 'quality', 'feeds']) {
      await page.locator(sel(`menu-${section}`)).waitFor()
    }
    await page.locator(sel('menu-ingest')).click()
    await page.locator(sel('page-ingest')).waitFor()
    // An institution uploads for itself: no institution picker.
    assert.equal(await page.locator(sel('ingest-institution')).count(), 0)
  })

  test('the template of the lab data set is a UTF-8 CSV with a BOM and the set’s columns', async () => {
    await choose(page, 'ingest-dataset', LAB_SET_NAME)
    await page.locator(sel('ingest-columns')).waitFor()
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(sel('ingest-template')).click()])
    const bytes = await readFile(await download.path())
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'starts with the UTF-8 BOM')
    const header = bytes.subarray(3).toString('utf8').trim().split(',')
    const detail = await api(page, `/api/v1/standards/datasets/${labCode}`)
    assert.equal(header.length, detail.fields.length)
    assert.ok(header.includes('检验机构代码'), 'a field label is used as its column title')
    assert.ok(header.includes('身份证件号码'), 'an element name is used as its column title')
    assert.match(download.suggestedFilename(), /\.csv$/)
  })

  test('upload: 2 rows accepted, the bad 身份证 row held, and the receipt says why', async () => {
    const detail = await api(page, `/api/v1/standards/datasets/${labCode}`)
    await page.locator(`${sel('ingest-file')} input[type=file]`).setInputFiles({
      name: `lab-${stamp}.csv`,
      mimeType: 'text/csv',
      buffer: labCsv(detail.fields),
    })
    await page.locator(sel('ingest-submit')).click()
    const receipt = page.locator(`${sel('ingest-latest')} ${sel('receipt')}`)
    await receipt.waitFor({ timeout: 60_000 })
    assert.match(await receipt.locator(sel('receipt-accepted')).innerText(), /入库\s*2/)
    assert.match(await receipt.locator(sel('receipt-quarantined')).innerText(), /隔离\s*1/)
    assert.match(await receipt.locator(sel('receipt-received')).innerText(), /收到\s*3/)
    assert.match(await receipt.locator(sel('receipt-status')).innerText(), /完成/)
    assert.match(await receipt.locator(sel('receipt-encoding')).innerText(), /UTF-8/)
    const errors = receipt.locator(`${sel('receipt-errors')} .el-table__body tr`)
    await errors.first().waitFor()
    const text = await receipt.locator(sel('receipt-errors')).innerText()
    assert.match(text, /身份证/)
    assert.match(text, /\b3\b/, 'the failing row is row 3')
    // The history lists the batch with its counts.
    const first = page.locator(`${sel('batch-table')} .el-table__body tr`).first()
    await first.waitFor()
    assert.match(await first.innerText(), /检验记录/)
    await shot(page, 'ingest-01-receipt')
    const batches = await api(page, '/api/v1/ingest/batches?page_size=1')
    batchId = batches.items[0].batch_id
    assert.equal(batches.items[0].accepted, 2)
  })

  test('quarantine: fix the 身份证 number, save and check, the record is released', async () => {
    await page.locator(sel('receipt-to-quarantine')).first().click()
    await page.locator(sel('page-quarantine')).waitFor()
    await page.waitForURL(new RegExp(`batch=${batchId}`))
    const rows = page.locator(`${sel('quarantine-table')} .el-table__body tr`)
    await rows.first().waitFor()
    assert.equal(await rows.count(), 1, 'only the held row of this batch is listed')
    assert.match(await rows.first().innerText(), /身份证/)

    await page.locator(sel('quarantine-open')).first().click()
    const editor = page.locator(sel('record-editor'))
    await editor.waitFor()
    const field = editor.locator(sel('record-field-id_number'))
    assert.match((await field.getAttribute('class')) ?? '', /is-error/, 'the failed field is highlighted')
    await field.locator('.el-form-item__error', { hasText: '身份证件号码校验不通过' }).waitFor() // fades in
    await shot(page, 'ingest-02-quarantine-record')

    await field.locator('input').fill(FIXED_C)
    await editor.locator(sel('record-save')).click()
    const released = editor.locator(sel('record-released'))
    await released.waitFor({ timeout: 30_000 })
    assert.match(await released.innerText(), /已放行/)
    assert.match(await editor.locator(sel('record-status')).innerText(), /已放行/)
    await shot(page, 'ingest-03-released')

    // Behind the drawer the list has nothing left for this batch.
    await page.keyboard.press('Escape')
    await page.waitForFunction(
      () => document.querySelectorAll('[data-test="quarantine-table"] .el-table__body tr').length === 0,
    )
    const held = await api(page, `/api/v1/quality/quarantine?batch_id=${batchId}`)
    assert.equal(held.total, 0)
  })

  test('the batch receipt opens from the history in a drawer', async () => {
    await page.locator(sel('menu-ingest')).click()
    await page.locator(sel('page-ingest')).waitFor()
    await page.locator(sel('batch-open')).first().click()
    const drawer = page.locator(`${sel('receipt-drawer')} ${sel('receipt')}`)
    await drawer.waitFor()
    assert.match(await drawer.locator(sel('receipt-accepted')).innerText(), /入库\s*2/)
    await page.keyboard.press('Escape')
  })

  test('a file without a required column: the receipt names it, and the held row is discarded with a reason', async () => {
    await page.locator(sel('menu-ingest')).click()
    await page.locator(sel('page-ingest')).waitFor()
    await choose(page, 'ingest-dataset', LAB_SET_NAME)
    const row = labRow(4, GOOD_A, '测试甲', '1', '19600517', 'TG', '甘油三酯', '1.2', 'mmol/L', '0.5-1.7')
    delete row.specimen_type
    const names = [...Object.keys(row), '备注']
    const body = [names.join(','), [...Object.values(row), '复查'].map(csvCell).join(',')].join('\r\n')
    await page.locator(`${sel('ingest-file')} input[type=file]`).setInputFiles({
      name: `lab-missing-${stamp}.csv`,
      mimeType: 'text/csv',
      buffer: Buffer.from('\uFEFF' + body + '\r\n', 'utf8'),
    })
    await page.locator(sel('ingest-submit')).click()
    const receipt = page.locator(`${sel('ingest-latest')} ${sel('receipt')}`)
    await receipt.locator(sel('receipt-quarantined'), { hasText: /隔离\s*1/ }).waitFor({ timeout: 60_000 })
    assert.match(await receipt.locator(sel('receipt-accepted')).innerText(), /入库\s*0/)
    assert.match(await receipt.locator(sel('receipt-missing')).innerText(), /标本类别代码/)
    assert.match(await receipt.locator(sel('receipt-ignored')).innerText(), /备注/)
    assert.match(await receipt.locator(sel('receipt-encoding')).innerText(), /UTF-8/) // a BOM is read as UTF-8

    await receipt.locator(sel('receipt-to-quarantine')).click()
    await page.locator(sel('page-quarantine')).waitFor()
    await page.locator(sel('quarantine-open')).first().click()
    const editor = page.locator(sel('record-editor'))
    await editor.locator(sel('record-field-specimen_type')).waitFor()
    assert.match((await editor.locator(sel('record-field-specimen_type')).getAttribute('class')) ?? '', /is-error/)
    await editor.locator(sel('record-discard')).click()
    const box = page.locator('.el-message-box')
    await box.locator('input').fill('重复送检')
    await box.locator('.el-button--primary').click()
    await editor.locator(sel('record-status'), { hasText: '已作废' }).waitFor()
    await page.keyboard.press('Escape')
  })

  test('前置库: a new feed is saved; pulling an unreachable database reports why', async () => {
    await page.locator(sel('menu-feeds')).click()
    await page.locator(sel('page-feeds')).waitFor()
    assert.equal(await page.locator(sel('city-upload')).count(), 0, 'city upload is for the district administrator')
    await page.locator(sel('frontdb-new')).click()
    await input(page, 'frontdb-table-name').waitFor()
    // The form refuses an unsafe table name before anything is sent.
    await choose(page, 'frontdb-dataset', LAB_SET_NAME)
    await input(page, 'frontdb-table-name').fill('lis; drop table x')
    await input(page, 'frontdb-watermark').fill('updated_at')
    await input(page, 'frontdb-dsn').fill('postgresql://nobody:secret@127.0.0.1:1/none')
    await page.locator(sel('frontdb-submit')).click()
    await page.getByText('只能包含字母、数字、下划线和点').first().waitFor()
    const table = `lis_items_${stamp.toLowerCase()}`
    await input(page, 'frontdb-table-name').fill(table)
    await page.locator(sel('frontdb-enabled')).click() // disabled: the scheduler must not keep knocking on port 1
    await page.locator(sel('frontdb-submit')).click()
    const row = page.locator(`${sel('frontdb-table')} .el-table__body tr`, { hasText: table })
    await row.waitFor()
    assert.match(await row.innerText(), /\*\*\*/, 'the password is masked')
    assert.doesNotMatch(await row.innerText(), /secret/)

    await row.locator(sel('frontdb-pull')).click()
    await page.locator('.el-message--error', { hasText: '前置库采集失败' }).waitFor({ timeout: 30_000 })
    await page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('[data-test="frontdb-table"] .el-table__body tr')].some(
          (tr) => tr.textContent.includes(name) && /Error/.test(tr.textContent),
        ),
      table,
    )
    await shot(page, 'ingest-06-frontdb')
  })
})

describe('regulator: scorecards only', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'weijianwei')
  })
  after(async () => {
    await page.context().close()
  })

  test('no upload or quarantine pages in the menu', async () => {
    await page.locator(sel('menu-quality')).waitFor()
    assert.equal(await page.locator(sel('menu-ingest')).count(), 0)
    assert.equal(await page.locator(sel('menu-quarantine')).count(), 0)
    assert.equal(await page.locator(sel('menu-feeds')).count(), 0)
  })

  test('质控评分 lists the institution that uploaded today, with its score', async () => {
    await page.locator(sel('menu-quality')).click()
    await page.locator(sel('page-quality')).waitFor()
    const row = page.locator(`${sel('quality-table')} .el-table__body tr`, { hasText: INSTITUTION })
    await row.first().waitFor()
    const score = await row.first().locator(sel('quality-row-score')).innerText()
    assert.ok(Number(score) >= 0 && Number(score) <= 100, `score ${score}`)
    await page.locator(`${sel('quality-chart-institutions')} canvas`).waitFor()
    await page.locator(`${sel('quality-chart-trend')} canvas`).waitFor()
    await page.waitForTimeout(800) // chart animation
    await shot(page, 'ingest-04-scorecards')

    // By day: today's row is there.
    await page.locator(`${sel('quality-group-day')}`).click()
    await page.waitForFunction(() => document.querySelector('[data-test="quality-table"]')?.textContent?.includes('-'))
  })

  test('the monthly report downloads as an Excel file', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(sel('quality-export')).click()])
    assert.match(download.suggestedFilename(), /数据质量月报-\d{4}-\d{2}\.xlsx$/)
    const bytes = await readFile(await download.path())
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'an XLSX is a zip file')
  })
})

describe('district administrator', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    await page.context().close()
  })

  test('must pick an institution before uploading', async () => {
    await page.locator(sel('menu-ingest')).click()
    await page.locator(sel('page-ingest')).waitFor()
    await page.locator(sel('ingest-institution')).waitFor()
    await choose(page, 'ingest-dataset', LAB_SET_NAME)
    await page.locator(`${sel('ingest-file')} input[type=file]`).setInputFiles({
      name: 'empty.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('institution_code\r\n', 'utf8'),
    })
    assert.equal(await page.locator(sel('ingest-submit')).isDisabled(), true)
  })

  test('上报市平台: send what is new, then send a batch again', async () => {
    await page.locator(sel('menu-feeds')).click()
    await page.locator(sel('page-feeds')).waitFor()
    await page.locator(sel('frontdb-table')).waitFor()
    await page.locator(sel('city-upload')).waitFor()
    await page.locator(sel('city-run')).click()
    // The first run sends the accepted lab records; a later run may find nothing new. Either is said.
    await page.locator('.el-message', { hasText: /已上报|没有需要上报/ }).first().waitFor({ timeout: 60_000 })
    const first = page.locator(`${sel('city-table')} .el-table__body tr`).first()
    await first.waitFor()
    assert.match(await first.locator(sel('city-state')).innerText(), /已上传|失败|待上传/)
    await first.locator(sel('city-resend')).click()
    await page.locator('.el-message', { hasText: '重新上传成功' }).first().waitFor({ timeout: 60_000 })
    assert.match(await first.locator(sel('city-state')).innerText(), /已上传/)
    await shot(page, 'ingest-05-feeds')
  })
})
